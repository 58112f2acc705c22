from chainsleuth.cli import main

main()

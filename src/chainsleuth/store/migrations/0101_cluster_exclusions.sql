-- 0100 named the table of transactions kept out of clustering 'coinjoins'; it also holds post-mix spends and
-- entity conflicts, so it becomes cluster_exclusions. reason: 'coinjoin:equal-outputs', 'coinjoin:tagged-input',
-- 'coinjoin:listed', 'post-mix-spend', 'entity-conflict' (comma-separated if several).
ALTER TABLE coinjoins RENAME TO cluster_exclusions;
ALTER TABLE cluster_runs RENAME COLUMN coinjoins_skipped TO excluded_txs;

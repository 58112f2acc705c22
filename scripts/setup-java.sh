#!/usr/bin/env bash
# Set-up for the Spark engine (run by scripts/setup.sh as `bash scripts/setup-java.sh .venv`): PySpark 4 needs a
# Java 17+ runtime. Installs Debian's headless OpenJDK 17 with apt-get when `java -version` is missing or older,
# then checks that the venv's PySpark can start a local JVM.
set -euo pipefail
VENV=${1:-.venv}

java_major() {
  command -v java >/dev/null 2>&1 || { echo 0; return; }
  # `openjdk version "17.0.15" ...` or `java version "1.8.0_..."`
  local v
  v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
  v=${v#1.}
  echo "${v%%.*}"
}

if [ "$(java_major)" -lt 17 ]; then
  echo "installing OpenJDK 17 (headless) for Spark"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends openjdk-17-jre-headless >/dev/null; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends openjdk-17-jre-headless >/dev/null
  fi
  hash -r
fi
major=$(java_major)
if [ "$major" -lt 17 ]; then
  echo "setup-java: Java 17+ still missing (found major version $major)" >&2
  exit 1
fi
echo "java $major OK"
"$VENV/bin/python" -c "import pyspark; print('pyspark', pyspark.__version__)"

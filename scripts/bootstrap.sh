#!/usr/bin/env bash
# Installs whatever is missing on a fresh Debian machine, and nothing else: MariaDB, Redis,
# Maven, gcc and Python's headers (for the CDC worker's compiled parts), and (when `javac` is absent)
# a Java 17 JDK from Debian's packages (the CDC benchmark compiles its Debezium harness; the
# JDK brings the runtime too); Python's venv module if needed; a .venv with cachesync and its
# dev extras; the Apache Kafka jars from Maven Central (`cachesync stack install`).
# Idempotent, and a few seconds when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "bootstrap: $*" >&2; }

# Debian installs mariadbd under /usr/sbin, which a non-root PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin" ;; esac

python=${PYTHON:-python3}
need=()
command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
# The compiled parts (cdc/*.c, consumers/*.c) are built at install: a C compiler and Python's
# headers.
command -v gcc >/dev/null 2>&1 || need+=(gcc)
if command -v "$python" >/dev/null 2>&1 && ! "$python" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    >/dev/null 2>&1; then
  need+=(python3-dev)
fi
if [ ! -x .venv/bin/python ]; then
  if ! command -v "$python" >/dev/null 2>&1; then
    need+=(python3 python3-venv)
  elif ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    need+=(python3-venv)
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "installing Debian packages: ${need[*]}"
  "${sudo[@]}" apt-get update -qq >&2
  # `env` inside sudo: sudo would drop DEBIAN_FRONTEND from the environment.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi
stamp=.venv/.cachesync-installed
# Reinstalled when the dependencies or the compiled parts change (an editable install builds
# cdc/*.c and consumers/*.c in place).
want=$(cat pyproject.toml cdc/*.c consumers/*.c | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x .venv/bin/cachesync ]; then
  say "installing cachesync and its dev extras into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e '.[dev]' >&2
  echo "$want" > "$stamp"
fi

.venv/bin/cachesync stack install >&2

#!/usr/bin/env bash
# Installs the real Zou for `pnpm test:kitsu`: a Python venv with packages/testing/zou/requirements.txt,
# linked as .venv. The venv is kept in a cache keyed by the requirements' hash, so every clone on this
# machine shares it and a second run installs nothing. Needs python3 (3.10 or newer) with venv.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=packages/testing/zou/requirements.txt
key=$(sha256sum "$requirements" | cut -c1-16)
cache_root="${KITSU_ACTIONS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kitsu-actions}"
venv="$cache_root/zou-venv-$key"

# A venv cannot be moved (its scripts name its path), so it is built in place and marked complete last.
if [ ! -f "$venv/.complete" ]; then
  echo "setup-zou: installing Zou into $venv"
  rm -rf "$venv"
  mkdir -p "$cache_root"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  touch "$venv/.complete"
fi
ln -sfn "$venv" .venv
echo "setup-zou: $("$venv/bin/python" -c 'import importlib.metadata as m; print("zou", m.version("zou"))') in .venv"

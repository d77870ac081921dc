#!/usr/bin/env bash
# Print the path of a Python interpreter of version $1 (e.g. 3.13), or explain and fail.
# Looks at pythonX.Y on PATH, then pyenv's versions (which need no `pyenv shell`).
set -u
want=$1
for cand in "python$want" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want"*/bin/"python$want"; do
  if "$cand" -c "import sys; sys.exit(f'{sys.version_info[0]}.{sys.version_info[1]}' != '$want')" 2>/dev/null; then
    "$cand" -c "import sys; print(sys.executable)"
    exit 0
  fi
done
echo "No Python $want found. Install it (e.g. 'pyenv install $want', or your system's python$want) or run make with PYTHON_COLAB=/path/to/python$want." >&2
exit 1

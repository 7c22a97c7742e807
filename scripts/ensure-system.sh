#!/usr/bin/env bash
# Make sure a Debian package the tests or the build need is on the machine.
# As root with apt, install it; otherwise stop and print the exact command to run.
set -euo pipefail

declare -A probe=(
  [chromium]="test -x /usr/bin/chromium"
  [gettext]="command -v msgfmt"
  [postgresql]="test -x /usr/lib/postgresql/15/bin/postgres"
  [redis-server]="command -v redis-server"
  [nginx]="command -v nginx"
  [fonts-dejavu-core]="test -d /usr/share/fonts/truetype/dejavu"
  [libpango-1.0-0]="ldconfig -p | grep -q libpango-1.0.so.0"
  [libpangoft2-1.0-0]="ldconfig -p | grep -q libpangoft2-1.0.so.0"
)

missing=()
for pkg in "$@"; do
  check=${probe[$pkg]:-"dpkg -s $pkg"}
  eval "$check" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}" >&2
  # The package lists may be stale on a fresh machine: update once, then install.
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "error: missing Debian packages: ${missing[*]}" >&2
echo "Run, then try again:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
exit 1

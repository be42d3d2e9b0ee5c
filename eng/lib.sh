#!/usr/bin/env bash
# eng/lib.sh — shared helpers for eng/run, eng/test and eng/dealledger (sourced, not run).
#
# Provides:
#   REPO, ARTIFACTS, CLI_PROJECT, CLI_OUT, CLI_DLL, CLI_STAMP, BUILD_LOCK
#   lib_log PREFIX MSG...     message to stderr as "PREFIX: MSG"
#   ensure_connection         export ConnectionStrings__DealLedger from eng/pg (unless already set)
#   ensure_cli                build artifacts/cli/dealledger.dll if any input changed (quiet, stderr only)
#   with_build_lock CMD...    run CMD while holding artifacts/.build.lock
#   api_connection [PREFIX]   print the connection string the API should use: a login role that is a
#                             member of dealledger_api (created or given a fresh password here)
# Callers may set LIB_PREFIX (e.g. eng/test) for messages printed by the helpers.
# Also exports the DOTNET_* quietness variables and repairs a missing HOME / minimal PATH.
#
# Overrides (mainly for testing the scripts themselves):
#   DEALLEDGER_CLI_PROJECT    project to build instead of src/DealLedger.Cli/DealLedger.Cli.csproj
#                             (its assembly must still be named "dealledger")
set -euo pipefail

if [[ -z ${_DEALLEDGER_LIB_LOADED:-} ]]; then
_DEALLEDGER_LIB_LOADED=1

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
ARTIFACTS=$REPO/artifacts
CLI_PROJECT=${DEALLEDGER_CLI_PROJECT:-$REPO/src/DealLedger.Cli/DealLedger.Cli.csproj}
CLI_OUT=$ARTIFACTS/cli
CLI_DLL=$CLI_OUT/dealledger.dll
CLI_STAMP=$CLI_OUT/.stamp
BUILD_LOCK=$ARTIFACTS/.build.lock

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# CI / service environments sometimes lack HOME; dotnet and NuGet need it.
if [[ -z ${HOME:-} ]]; then
  HOME=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6) || true
  [[ -n $HOME && -d $HOME ]] || HOME=/tmp
  export HOME
fi

# Minimal PATHs (cron, `env -i`, some CI runners) may lack the sbin directories; eng/pg needs
# runuser from there when running as root.
for _d in /usr/local/sbin /usr/sbin /sbin; do
  if [[ -d $_d && ":${PATH:-}:" != *":$_d:"* ]]; then PATH="${PATH:+$PATH:}$_d"; fi
done
export PATH
unset _d

# dotnet not on PATH (non-login shells, CI): try the usual install locations.
if ! command -v dotnet >/dev/null 2>&1; then
  for _d in "${DOTNET_ROOT:-}" "$HOME/.dotnet" /usr/share/dotnet /usr/lib/dotnet /opt/dotnet /usr/local/share/dotnet; do
    if [[ -n $_d && -x $_d/dotnet ]]; then
      export PATH="$_d:$PATH"
      break
    fi
  done
  unset _d
fi

lib_log() {
  local prefix=$1
  shift
  printf '%s: %s\n' "$prefix" "$*" >&2
}

# debian_install PREFIX WHAT PACKAGE... — install Debian packages the tests need (as root, or through sudo -n),
# waiting for another apt run's lock rather than failing. Returns 1 with one line saying why when it cannot.
debian_install() {
  local prefix=$1 what=$2 sudo=()
  shift 2
  if (( EUID != 0 )); then
    if ! command -v sudo >/dev/null 2>&1; then
      lib_log "$prefix" "error: $what is not installed and this is not root (no sudo): install the Debian packages: $*"
      return 1
    fi
    sudo=(sudo -n)
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    lib_log "$prefix" "error: $what is not installed and there is no apt-get (Debian packages: $*)"
    return 1
  fi
  lib_log "$prefix" "installing Debian's $* ($what)..."
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -q >&2 </dev/null \
    && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@" >&2 </dev/null
}

require_dotnet() {
  command -v dotnet >/dev/null 2>&1 && return 0
  lib_log "${1:-eng}" "error: the 'dotnet' command (.NET SDK 10) was not found on PATH"
  return 1
}

# ensure_connection [LOG_PREFIX]
# Exports ConnectionStrings__DealLedger, starting the private cluster via eng/pg when it is unset.
ensure_connection() {
  local prefix=${1:-eng} cs
  if [[ -n ${ConnectionStrings__DealLedger:-} ]]; then
    return 0
  fi
  if ! cs=$("$REPO/eng/pg" connection </dev/null); then
    lib_log "$prefix" "error: eng/pg could not start the local PostgreSQL cluster (see messages above)"
    return 1
  fi
  if [[ -z $cs ]]; then
    lib_log "$prefix" "error: eng/pg printed no connection string"
    return 1
  fi
  export ConnectionStrings__DealLedger=$cs
}

# api_connection [LOG_PREFIX]
# Prints ConnectionStrings__DealLedger with its user and password replaced by the login role
# $DEALLEDGER_API_LOGIN (default dealledger_api_local), a member of the NOLOGIN role dealledger_api
# that migrations/0005_api_role.sql creates: it reads and appends, but cannot UPDATE, DELETE or
# TRUNCATE the stored events or the seals (docs/security.md). The login is created if missing and
# given a new random password on every call. Needs the migrations applied, and psql (eng/pg psql)
# connecting as the owner, which may create roles.
api_connection() {
  local prefix=${1:-eng} login=${DEALLEDGER_API_LOGIN:-dealledger_api_local} pw part key kept=() parts
  [[ -n ${ConnectionStrings__DealLedger:-} ]] || { lib_log "$prefix" "error: api_connection needs ConnectionStrings__DealLedger (ensure_connection)"; return 1; }
  pw=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  if ! "$REPO/eng/pg" psql -X -q -v ON_ERROR_STOP=1 -v login="$login" -v pw="$pw" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I LOGIN', :'login') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'login')
\gexec
ALTER ROLE :"login" WITH LOGIN PASSWORD :'pw';
GRANT dealledger_api TO :"login";
SQL
  then
    lib_log "$prefix" "error: could not create the API's login role '$login' (are the migrations applied, may the owner create roles?)"
    return 1
  fi
  IFS=';' read -r -a parts <<<"$ConnectionStrings__DealLedger"
  for part in "${parts[@]}"; do
    key=$(printf '%s' "${part%%=*}" | tr -d ' ' | tr '[:upper:]' '[:lower:]')
    case $key in
      '' | username | userid | user | password | pwd) ;;
      *) kept+=("$part") ;;
    esac
  done
  printf '%s;Username=%s;Password=%s\n' "$(IFS=';'; printf '%s' "${kept[*]}")" "$login" "$pw"
}

# with_build_lock CMD...  — serialises builds of this checkout (eng/dealledger, eng/run, eng/test).
with_build_lock() {
  local fd rc=0
  mkdir -p "$ARTIFACTS"
  exec {fd}>>"$BUILD_LOCK"
  if ! flock -n "$fd"; then
    lib_log "${LIB_PREFIX:-eng}" "another build of this checkout is running; waiting for it ($BUILD_LOCK)..."
    flock "$fd"
  fi
  "$@" || rc=$?
  flock -u "$fd"
  exec {fd}>&-
  return "$rc"
}

# The CLI's build inputs, one "mtime path" per line, sorted. Stored in the stamp after a
# successful build; any edit, addition, deletion or rename of an input changes it.
# bin/ and obj/ are build outputs and ignored.
cli_manifest() {
  local roots=("$REPO/src") projdir
  projdir=$(cd "$(dirname "$CLI_PROJECT")" 2>/dev/null && pwd -P) || projdir=""
  if [[ -n $projdir && $projdir != "$REPO/src" && $projdir != "$REPO/src/"* ]]; then
    roots+=("$projdir") # DEALLEDGER_CLI_PROJECT outside src/
  fi
  {
    find "${roots[@]}" \( -name bin -o -name obj \) -prune -o -type f \
      \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' -o -name '*.json' \) \
      -printf '%T@ %p\n' 2>/dev/null || true
    find "$REPO" -maxdepth 1 -type f \
      \( -name 'Directory.*.props' -o -name 'Directory.*.targets' -o -name 'nuget.config' -o -name 'global.json' \) \
      -printf '%T@ %p\n' 2>/dev/null || true
    find "$REPO/eng/local-feed" -maxdepth 1 -type f -name '*.nupkg' -printf '%T@ %p\n' 2>/dev/null || true
    printf 'project %s\n' "$CLI_PROJECT"
  } | LC_ALL=C sort
}

_cli_fresh() { # _cli_fresh MANIFEST
  [[ -f $CLI_DLL && -f $CLI_STAMP ]] || return 1
  local stamp
  stamp=$(<"$CLI_STAMP") || return 1
  [[ $stamp == "$1" ]]
}

_cli_build_locked() {
  local manifest log rc=0 start
  # Another invocation may have built while we waited for the lock.
  manifest=$(cli_manifest)
  _cli_fresh "$manifest" && return 0
  # Inputs are captured before the build: an edit made during the build triggers another one.
  log=$ARTIFACTS/cli-build.log
  mkdir -p "$CLI_OUT"
  rm -f "$CLI_STAMP"
  if [[ -f $CLI_DLL ]]; then
    lib_log eng/dealledger "sources changed; rebuilding the CLI ($(basename "$CLI_PROJECT") -> artifacts/cli)..."
  else
    lib_log eng/dealledger "building the CLI ($(basename "$CLI_PROJECT") -> artifacts/cli; the first build restores packages and can take a minute)..."
  fi
  start=$SECONDS
  # Published ReadyToRun: the CLI starts about a quarter faster than from a plain build. Its own
  # artifacts path keeps this RID-specific build out of the solution's obj/ folders. Should the
  # machine lack the ReadyToRun compiler package, a plain build serves as well.
  local rid
  case $(uname -m) in
    x86_64) rid=linux-x64 ;;
    aarch64 | arm64) rid=linux-arm64 ;;
    *) rid= ;;
  esac
  if [[ -n $rid ]] && dotnet publish "$CLI_PROJECT" -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true \
      --artifacts-path "$ARTIFACTS/cli-build" -o "$CLI_OUT" --nologo -v q -tl:off </dev/null >"$log" 2>&1; then
    :
  else
    dotnet build "$CLI_PROJECT" -c Release --artifacts-path "$ARTIFACTS/cli-build" -o "$CLI_OUT" --nologo -v q -tl:off \
      </dev/null >>"$log" 2>&1 || rc=$?
  fi
  if (( rc != 0 )); then
    cat "$log" >&2
    lib_log eng/dealledger "error: building the CLI failed (exit $rc); full log: $log"
    return 1
  fi
  if [[ ! -f $CLI_DLL ]]; then
    cat "$log" >&2
    lib_log eng/dealledger "error: the build succeeded but produced no $CLI_DLL (is the assembly name 'dealledger'?)"
    return 1
  fi
  printf '%s\n' "$manifest" >"$CLI_STAMP.tmp.$$"
  mv -f "$CLI_STAMP.tmp.$$" "$CLI_STAMP"
  lib_log eng/dealledger "built the CLI in $((SECONDS - start))s"
}

# ensure_cli — quick when nothing changed (one find, no dotnet process).
ensure_cli() {
  local manifest
  manifest=$(cli_manifest)
  _cli_fresh "$manifest" && return 0
  require_dotnet eng/dealledger || return 1
  with_build_lock _cli_build_locked
}

fi

# SPDX-License-Identifier: MIT
# bash completion for hoard(1): verbs and options as `hoard VERB --help`
# prints them (so completion cannot drift from the CLI), share names and
# conflict ids from the running daemon (`hoard __complete`, which never starts
# it), and paths inside cache roots.

# The subcommands of `hoard $*`, from the "Subcommands:" part of its help.
_hoard_subcommands() {
  hoard "$@" --help 2>/dev/null |
    awk '/^Subcommands:/ { s = 1; next } s && /^  [a-z]/ { print $1 } s && /^$/ { exit }'
}

# The options of `hoard $*`, from its help ("-h,--help", "--share TEXT").
_hoard_options() {
  hoard "$@" --help 2>/dev/null | grep -oE '(^|[ ,])--?[a-zA-Z][-a-zA-Z]*' | sed 's/^[ ,]//' |
    sort -u
}

_hoard() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()
  # The verb path typed so far ("share add", "sync", ...) and how many
  # positional arguments follow it.
  local -a path=()
  local i w positionals=0 subs
  subs=$(_hoard_subcommands)
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      --share | --priority | --pin | --with | --kind | --glob | --under | --config)
        i=$((i + 1)); continue ;;
      -*) continue ;;
    esac
    if [[ $positionals == 0 ]] && grep -qxF -- "$w" <<<"$subs"; then
      path+=("$w")
      subs=$(_hoard_subcommands "${path[@]}")
    else
      positionals=$((positionals + 1))
    fi
  done

  case $prev in
    --share)
      mapfile -t COMPREPLY < <(compgen -W "$(hoard __complete shares 2>/dev/null)" -- "$cur")
      return 0 ;;
    --with)
      mapfile -t COMPREPLY < <(compgen -W "keep-local keep-remote stash delete" -- "$cur")
      return 0 ;;
    --kind)
      mapfile -t COMPREPLY < <(compgen -W "content modify-delete delete-modify create-create type metadata dir-delete rename-rename repo" -- "$cur")
      return 0 ;;
    --priority | --pin | --glob | --under)
      return 0 ;;
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_hoard_options "${path[@]}")" -- "$cur")
    return 0
  fi
  if [[ -n $subs && $positionals == 0 ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
    return 0
  fi
  case "${path[*]}" in
    "share add")
      # name, then the remote and the cache: directories.
      ((positionals >= 1)) && mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      ;;
    "share remove" | "share on-demand" | pins | preload | sync | status | offline | online | changes | conflicts | \
      "snapshot list")
      ((positionals == 0)) &&
        mapfile -t COMPREPLY < <(compgen -W "$(hoard __complete shares 2>/dev/null)" -- "$cur")
      ;;
    show | diff | resolve)
      mapfile -t COMPREPLY < <(compgen -W "$(hoard __complete conflicts 2>/dev/null)" -- "$cur")
      ;;
    pin | unpin | evict)
      if ((positionals == 0)); then
        mapfile -t COMPREPLY < <(hoard __complete paths "$cur" 2>/dev/null)
        compopt -o nospace 2>/dev/null || true
      fi
      ;;
  esac
  return 0
}
complete -F _hoard hoard

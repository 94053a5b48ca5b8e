#!/usr/bin/env bash
# preprocess_data.sh: split ebpfmon CSV files into one file per UTC day, by the timestamp (first) column.
#
# Usage: scripts/preprocess_data.sh [--in-place] [--force] DIR [OUTDIR]
#   DIR       directory with <monitor>_<YYYYMMDDTHHMMSSZ>.csv files (as `ebpfmon start` writes them)
#   OUTDIR    where the parts go (default: DIR/by-day); each part is <monitor>_<stamp>_<YYYY-MM-DD>.csv
#   --in-place  write the parts into DIR and delete each original once it was split (and delete empty originals)
#   --force     replace parts already in OUTDIR (otherwise the script stops rather than mix two runs)
#
# For files written before output rotation existed, or without output.rotate.daily (daily files already hold one
# day each). Rotated names (<monitor>_<stamp>_NNN.csv, or -N as earlier versions wrote) are split like the others; gzipped files (.csv.gz) are left alone.
# Every part starts with the original's header. A file with no data rows gives no part (no empty files).
# Rows that cannot be placed in a day (a repeated header, a damaged line) are left out and counted on stderr.
# Quoted fields holding a newline stay whole. The originals are never changed unless --in-place is given.
# `ebpfmon analyze OUTDIR --date YYYY-MM-DD` then reads only that day's parts.
#
# Plain bash and awk (mawk when present: fastest); one pass per file, streaming, so memory stays flat.
set -euo pipefail
export LC_ALL=C

usage() { sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

in_place=0
force=0
args=()
for a in "$@"; do
  case "$a" in
    --in-place) in_place=1 ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "preprocess_data.sh: unknown option $a" >&2; usage ;;
    *) args+=("$a") ;;
  esac
done
[ "${#args[@]}" -ge 1 ] && [ "${#args[@]}" -le 2 ] || usage
dir=${args[0]}
[ -d "$dir" ] || { echo "preprocess_data.sh: no such directory: $dir" >&2; exit 2; }
if [ "$in_place" = 1 ]; then
  [ "${#args[@]}" = 1 ] || { echo "preprocess_data.sh: --in-place takes no OUTDIR" >&2; exit 2; }
  out=$dir
else
  out=${args[1]:-$dir/by-day}
fi
mkdir -p "$out"

AWK=awk
command -v mawk >/dev/null 2>&1 && AWK=mawk

shopt -s nullglob
status=0
for f in "$dir"/*.csv; do
  name=${f##*/}
  stem=${name%.csv}
  # Already a day part: leave it alone.
  [[ $stem =~ _[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] && continue
  if [ ! -s "$f" ]; then
    echo "$name: empty" >&2
    [ "$in_place" = 1 ] && rm -f -- "$f"
    continue
  fi
  existing=("$out/${stem}"_[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].csv)
  if [ "${#existing[@]}" -gt 0 ]; then
    if [ "$force" = 1 ]; then rm -f -- "${existing[@]}"; else
      echo "$name: parts already in $out (use --force to replace them)" >&2
      status=1
      continue
    fi
  fi
  # Each part: header written once ('>' creates it), rows appended ('>>'); the open part is closed on a day
  # change, so a file spanning months never holds more than one part open.
  if ! PREFIX="$out/$stem" NAME="$name" "$AWK" '
    NR == 1 { hdr = $0; if (substr(hdr, 1, 1) == "\357") hdr = substr(hdr, 4); next }
    inquote { print >> part; if (index($0, "\"") && gsub(/"/, "\"") % 2) inquote = 0; next }
    {
      day = substr($0, 1, 10)
      if (day !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/ || substr($0, 11, 1) != "T") {
        if (substr($0, 1, 9) == "timestamp") headers++; else if ($0 != "" && $0 != "\r") bad++
        next
      }
      if (day != cur) {
        if (part != "") close(part)
        cur = day
        part = ENVIRON["PREFIX"] "_" day ".csv"
        if (!(day in seen)) { seen[day] = 1; days++; print hdr > part; close(part) }
      }
      print >> part
      rows++
      if (index($0, "\"") && gsub(/"/, "\"") % 2) inquote = 1
    }
    END {
      printf "%s: %d rows in %d day file(s)", ENVIRON["NAME"], rows, days > "/dev/stderr"
      if (headers) printf ", %d repeated header(s) left out", headers > "/dev/stderr"
      if (bad) printf ", %d damaged line(s) left out", bad > "/dev/stderr"
      printf "\n" > "/dev/stderr"
    }' "$f"; then
    echo "$name: split failed; original kept" >&2
    status=1
    continue
  fi
  [ "$in_place" = 1 ] && rm -f -- "$f"
done
exit "$status"

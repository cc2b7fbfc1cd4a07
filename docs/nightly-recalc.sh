#!/usr/bin/env bash
# Nightly headless recalculation of the shared HMIS licensing workbook (Linux, macOS).
#
# Set WORKBOOK (and, if hmis-licensing is not on the PATH, HMIS_LICENSING), then schedule
# it with cron, e.g. every night at 02:00:
#   0 2 * * *  WORKBOOK=/mnt/coc-share/HMIS/hmis-licensing.xlsx /opt/hmis/nightly-recalc.sh
# Leave the Settings sheet's As Of blank, so that each run judges its own day.
#
# Each run keeps a dated copy of the workbook first, then runs `recalc`. If the workbook
# cannot be written (someone has it open in Excel: exit 2, nothing written), it tries
# again every WAIT seconds, TRIES times in all; a bad policy (exit 2, the Problems sheet
# written) is not tried again. Optional: EXPORT names an HMIS CSV export (.zip or
# folder) to import first with `import-activity`. Exit code: recalc's (0 done, 1 errors
# in the workbook: see its Problems sheet, 2 could not run).
set -u

WORKBOOK="${WORKBOOK:?set WORKBOOK to the shared workbook, e.g. /mnt/coc-share/HMIS/hmis-licensing.xlsx}"
HMIS_LICENSING="${HMIS_LICENSING:-hmis-licensing}"
LOG_DIR="${LOG_DIR:-$(dirname "$WORKBOOK")/hmis-licensing-logs}"
BACKUP_DIR="${BACKUP_DIR:-$LOG_DIR/backups}"
KEEP_BACKUPS="${KEEP_BACKUPS:-30}"
TRIES="${TRIES:-6}"
WAIT="${WAIT:-600}"
EXPORT="${EXPORT:-}"

mkdir -p "$LOG_DIR" "$BACKUP_DIR" || exit 2
stamp="$(date +%Y-%m-%d)"
exec >>"$LOG_DIR/recalc-$stamp.log" 2>&1
echo "== $(date '+%Y-%m-%d %H:%M:%S') $WORKBOOK"

name="$(basename "$WORKBOOK" .xlsx)"
if ! cp -p "$WORKBOOK" "$BACKUP_DIR/$name-$stamp.xlsx"; then
  echo "FAILED: cannot read $WORKBOOK"
  exit 2
fi
# Keep the newest KEEP_BACKUPS copies.
ls -1t "$BACKUP_DIR/$name"-*.xlsx 2>/dev/null | tail -n +"$((KEEP_BACKUPS + 1))" |
  while IFS= read -r old; do rm -f -- "$old"; done

code=2
for try in $(seq 1 "$TRIES"); do
  if [ -n "$EXPORT" ]; then
    "$HMIS_LICENSING" import-activity "$WORKBOOK" "$EXPORT"
    code=$?
  else
    code=0
  fi
  written=""
  if [ "$code" -ne 2 ]; then
    said="$("$HMIS_LICENSING" recalc "$WORKBOOK")"
    code=$?
    printf '%s\n' "$said"
    # Exit 2 with a "Wrote:" line is a bad policy: its Problems sheet says so, and
    # trying again would only log it again.
    case "$said" in *"Wrote:"*) written=yes ;; esac
  fi
  [ "$code" -ne 2 ] || [ -n "$written" ] && break
  echo "try $try of $TRIES could not write the workbook (open in Excel?)"
  [ "$try" -lt "$TRIES" ] && sleep "$WAIT"
done

case "$code" in
  0) echo "OK" ;;
  1) echo "DONE WITH ERRORS: see the workbook's Problems sheet" ;;
  *) if [ -n "$written" ]; then
       echo "FAILED (exit $code): the policy cannot be used; see the workbook's Problems sheet"
     else
       echo "FAILED (exit $code)"
     fi ;;
esac
exit "$code"

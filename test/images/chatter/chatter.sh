# The log test engine (contract §16), run by busybox sh in galaxy-test-engine:chatter.
# At start it writes known lines: one on each stream, a 20,000-character line
# (the digits 0-9 over and over), bytes that are not UTF-8 (\377\376), a
# multi-byte character, then `ready`. Then every CHATTER_TICK seconds [0.1]
# `tick N out` on stdout and `tick N err` on stderr, CHATTER_TICKS times
# [0: until stopped], then it exits with CHATTER_EXIT [0]. Once the file
# `flood` appears in its state directory ($STORAGE_PATH), it writes as many
# `flood NNNNNN …` lines (about 150 bytes each) as the file says, at once,
# then `flood done`.
echo "hello stdout"
echo "hello stderr" >&2
awk 'BEGIN { s = "0123456789"; while (length(s) < 20000) s = s s; print substr(s, 1, 20000) }'
printf 'bytes \377\376 end\n'
printf 'snow \342\230\203 man\n'
echo "ready"
n=0
flooded=
while [ "${CHATTER_TICKS:-0}" -eq 0 ] || [ "$n" -lt "${CHATTER_TICKS:-0}" ]; do
  n=$((n + 1))
  echo "tick $n out"
  echo "tick $n err" >&2
  if [ -z "$flooded" ] && [ -f "$STORAGE_PATH/flood" ]; then
    flooded=1
    awk -v n="$(cat "$STORAGE_PATH/flood")" 'BEGIN {
      pad = "abcdefghijklmnopqrstuvwxyz0123456789"; pad = pad pad pad pad
      for (i = 1; i <= n; i++) printf "flood %06d %s\n", i, pad
    }'
    echo "flood done"
  fi
  sleep "${CHATTER_TICK:-0.1}"
done
exit "${CHATTER_EXIT:-0}"

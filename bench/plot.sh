#!/usr/bin/env bash
# bench/plot.sh — SVG plots from the benchmark CSV (gnuplot, Debian's gnuplot-nox).
#   throughput_memory.svg  in-memory ops/s against threads (SimpleCache, +TTL, locked LRU)
#   throughput_redis.svg   Redis ops/s against threads (RedisCache with pool T, T raw connections)
#   miss_ratio.svg         miss ratio against capacity, one panel per trace (SimpleCache, LRU)
# Usage: bench/plot.sh [results.csv] [output dir]   (defaults: bench/out/results.csv, docs/img)
# PLOT_FORMAT=png writes PNG (gnuplot's pngcairo) instead of SVG.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
csv="${1:-$root/bench/out/results.csv}"
dest="${2:-$root/docs/img}"
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found (scripts/install-deps.sh --bench installs it)" >&2; exit 1; }
[ -r "$csv" ] || { echo "plot.sh: no CSV at $csv (run bench/run first)" >&2; exit 1; }
mkdir -p "$dest"
fmt="${PLOT_FORMAT:-svg}"
case "$fmt" in
  svg) term() { echo "set terminal svg size $1,$2 dynamic font \"sans,$3\" background rgb \"white\""; } ;;
  png) term() { echo "set terminal pngcairo size $1,$2 font \"sans,$3\" background rgb \"white\""; } ;;
  *) echo "plot.sh: PLOT_FORMAT '$fmt' is not accepted (accepted: svg, png)" >&2; exit 2 ;;
esac
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT

# series KIND NAME SERIES -> "x y" lines (x = threads, or capacity % for miss ratios), sorted by x.
series() {
  awk -F, -v kind="$1" -v name="$2" -v ser="$3" \
    'NR > 1 && $1 == kind && $2 == name && $3 == ser { print (kind == "missratio" ? $5 : $4), $6 }' "$csv" | sort -g
}

n=0
for w in "mem 90/10 zipf0.99" "mem 70/30 zipf0.99"; do
  for s in SimpleCache SimpleCache+TTL LockedLRU; do
    f="$data/mem_$n.dat"; series throughput "$w" "$s" > "$f"; n=$((n + 1))
    [ -s "$f" ] && echo "$f|$s, ${w#mem }" >> "$data/mem.list"
  done
done
for s in RedisCache "raw hiredis"; do
  f="$data/redis_$s.dat"; series throughput "redis 90/10 zipf0.99" "$s" > "$f"
  [ -s "$f" ] && echo "$f|$s" >> "$data/redis.list"
done

plot_list() {  # list file -> a gnuplot "plot" argument list
  local first=1 line file title
  while IFS= read -r line; do
    file="${line%%|*}"; title="${line#*|}"
    [ $first = 1 ] || printf ', '
    printf '"%s" using 1:($2/1e6) with linespoints lw 2 title "%s"' "$file" "$title"
    first=0
  done < "$1"
}

if [ -s "$data/mem.list" ]; then
  gnuplot <<GP
$(term 760 460 12)
set output "$dest/throughput_memory.$fmt"
set title "In-memory throughput, Zipf 0.99, 100k keys pre-filled, 100 B values"
set xlabel "threads"; set ylabel "million operations / s"
set key below; set grid; set xtics 1; set yrange [0:*]
plot $(plot_list "$data/mem.list")
GP
  echo "plot.sh: $dest/throughput_memory.$fmt"
fi

if [ -s "$data/redis.list" ]; then
  gnuplot <<GP
$(term 760 460 12)
set output "$dest/throughput_redis.$fmt"
set title "Redis throughput, 90/10 get/set, Zipf 0.99, loopback redis-server"
set xlabel "threads (RedisCache: pool of T; raw: T connections)"; set ylabel "thousand operations / s"
set key below; set grid; set logscale x 2; set yrange [0:*]
plot $(plot_list "$data/redis.list" | sed 's|(\$2/1e6)|(\$2/1e3)|g')
GP
  echo "plot.sh: $dest/throughput_redis.$fmt"
fi

traces=$(awk -F, 'NR > 1 && $1 == "missratio" { print $2 }' "$csv" | awk '!seen[$0]++')
if [ -n "$traces" ]; then
  count=$(echo "$traces" | wc -l)
  {
    term 1100 640 11
    echo "set output \"$dest/miss_ratio.$fmt\""
    echo "set multiplot layout 2,$(( (count + 1) / 2 )) title \"Miss ratio vs capacity (% of a 1M-key space), equal item capacity\""
    echo 'set logscale x; set grid; set xlabel "capacity (% of keys)"; set ylabel "miss ratio"; set key top right'
    for t in $traces; do
      series missratio "$t" SimpleCache > "$data/mr_${t}_s.dat"
      series missratio "$t" LRU > "$data/mr_${t}_l.dat"
      echo "set title \"$t\""
      echo "plot \"$data/mr_${t}_s.dat\" using 1:2 with linespoints lw 2 title \"SimpleCache\", \"$data/mr_${t}_l.dat\" using 1:2 with linespoints lw 2 title \"LRU\""
    done
    echo 'unset multiplot'
  } | gnuplot
  echo "plot.sh: $dest/miss_ratio.$fmt"
fi

# The PNG plots of bench/run, from the data files it writes into a results
# folder: gnuplot -e "dir='bench/results/STAMP'" bench/plots.gnuplot
#   open_loop_LEDGER.dat       offered_per_s achieved_per_s p99_ms, one line per open-loop rate
#   NAME.percentiles           paybench --percentiles: percentile latency_ms inverse_tail
#   NAME.timeline              paybench --latency-timeline: at_s requests max_ms over_1ms over_10ms over_100ms
# Writes throughput_vs_offered.png, latency_percentiles.png and
# latency_over_time.png into dir.
set terminal pngcairo size 900,560 font ",10"
set grid
set key top left

set output dir.'/throughput_vs_offered.png'
set title "Throughput against offered load (uniform transfers, open loop)"
set xlabel "offered load, requests/s"
set ylabel "achieved throughput, requests/s"
set xrange [0:*]
set yrange [0:*]
plot dir.'/open_loop_sqlite.dat' using 1:2 with linespoints lw 2 pt 7 title "SQLite", \
     dir.'/open_loop_postgresql.dat' using 1:2 with linespoints lw 2 pt 5 title "PostgreSQL", \
     x with lines dt 2 lc rgb "gray" title "achieved = offered"

set output dir.'/latency_percentiles.png'
set title "Latency by percentile (uniform transfers)"
set xlabel "percentile"
set ylabel "latency, ms"
set logscale x
set logscale y
set xrange [1:*]
set yrange [*:*]
set xtics ("0%%" 1, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000)
set key top left
plot dir.'/sqlite_uniform.percentiles' using 3:2 with lines lw 2 title "SQLite, closed loop", \
     dir.'/sqlite_open_50.percentiles' using 3:2 with lines lw 2 title "SQLite, open loop at 50%", \
     dir.'/postgresql_uniform.percentiles' using 3:2 with lines lw 2 title "PostgreSQL, closed loop", \
     dir.'/postgresql_open_50.percentiles' using 3:2 with lines lw 2 title "PostgreSQL, open loop at 50%", \
     dir.'/sqlite_uniform_batch1.percentiles' using 3:2 with lines lw 2 dt 2 lc rgb "dark-red" title "SQLite, batch size 1"

set output dir.'/latency_over_time.png'
set title "Longest latency in each 100 ms (SQLite, open loop at 10,000 transfers/s, 256 connections)"
set xlabel "time into the measured run, s"
set ylabel "longest latency, ms"
unset logscale x
set logscale y
set xtics auto
set xrange [0:*]
set yrange [*:*]
set key top left
plot dir.'/sqlite_open_target_run1.timeline' using 1:3 with lines lw 1.5 title "run 1", \
     dir.'/sqlite_open_target_run2.timeline' using 1:3 with lines lw 1.5 title "run 2", \
     dir.'/sqlite_open_target_run3.timeline' using 1:3 with lines lw 1.5 title "run 3", \
     10 with lines dt 2 lc rgb "gray" title "10 ms"

# The figures of a meshtrain report, with their data: re-render in this folder with `gnuplot figures.gp`.
set encoding utf8
set style line 1 lc rgb '#0072B2' lw 2 pt 7 ps 1.4 dt 1
set style line 2 lc rgb '#D55E00' lw 2 pt 4 ps 1.4 dt 2
set style line 3 lc rgb '#009E73' lw 2 pt 9 ps 1.4 dt 1
set style line 4 lc rgb '#CC79A7' lw 2 pt 12 ps 1.4 dt 2
set style line 5 lc rgb '#E69F00' lw 2 pt 5 ps 1.4 dt 1
set style line 6 lc rgb '#56B4E9' lw 2 pt 6 ps 1.4 dt 2

# results/quick/runs/noniid/dir-sc-sparse-push-seed1: sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, dirichlet α 0.1
$run0 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 46.0475 13.4609 2.11816
2 14.4487 25.2899 4.24287
3 62.9237 33.7937 8.84819
4 78.0625 42.0476 10.9861
5 81.5413 51.0919 16.8403
EOD

# results/quick/runs/noniid/dir-sgp-seed1: sgp, 1 Gbit/s, 1 ms, dirichlet α 0.1
$run1 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 70.4562 16.925 464.164
2 77.0350 32.9084 928.329
3 83.1675 52.669 1392.49
4 84.7613 68.1295 1856.66
5 87.9700 88.3363 2320.82
EOD

# results/quick/runs/noniid/dir-sparse-push-seed1: sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, dirichlet α 0.1
$run2 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 42.9213 13.6899 0.878968
2 48.0988 25.7853 1.77148
3 47.7675 34.4115 2.66792
4 51.2425 42.5446 3.56618
5 54.8800 52.7219 4.46568
EOD

# results/quick/runs/noniid/skew-sc-sparse-push-seed1: sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, label skew 0.8
$run3 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 61.4000 13.1627 2.1175
2 58.4225 33.5022 4.23757
3 79.2975 47.2835 8.84605
4 82.4963 63.156 10.9848
5 83.1675 76.6448 16.8391
EOD

# results/quick/runs/noniid/skew-sgp-seed1: sgp, 1 Gbit/s, 1 ms, label skew 0.8
$run4 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 70.8512 17.6817 464.164
2 77.0000 34.4885 928.329
3 84.1525 53.2313 1392.49
4 84.3875 68.4433 1856.66
5 88.1700 87.476 2320.82
EOD

# results/quick/runs/noniid/skew-sparse-push-seed1: sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, label skew 0.8
$run5 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 63.4938 14.8836 0.878538
2 65.4675 35.1757 1.7714
3 73.2750 50.2903 2.66791
4 73.9387 65.7159 3.56636
5 75.1112 81.584 4.46608
EOD

# accuracy-epoch
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 6
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: noniid\nAccuracy vs epoch: lenet5 on fashion-mnist, 8 agents, 5 epochs" font 'Sans,15'
set xlabel "epoch (passes over each agent's partition)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-epoch.png'
plot $run0 using 1:2 with linespoints ls 1 title "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, dirichlet α 0.1", \
     $run1 using 1:2 with linespoints ls 2 title "sgp, 1 Gbit/s, 1 ms, dirichlet α 0.1", \
     $run2 using 1:2 with linespoints ls 3 title "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, dirichlet α 0.1", \
     $run3 using 1:2 with linespoints ls 4 title "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, label skew 0.8", \
     $run4 using 1:2 with linespoints ls 5 title "sgp, 1 Gbit/s, 1 ms, label skew 0.8", \
     $run5 using 1:2 with linespoints ls 6 title "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, label skew 0.8"
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-epoch.svg'; replot; unset output

# accuracy-mb
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 6
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set logscale x 10; set format x '%g'; set mxtics 10
set title "reproduce-quick: noniid\nAccuracy vs data sent: lenet5 on fashion-mnist, 8 agents, 5 epochs" font 'Sans,15'
set xlabel "data sent by all agents so far, payload + frame headers (MB, log scale)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-mb.png'
plot $run0 using 4:2 with linespoints ls 1 title "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, dirichlet α 0.1", \
     $run1 using 4:2 with linespoints ls 2 title "sgp, 1 Gbit/s, 1 ms, dirichlet α 0.1", \
     $run2 using 4:2 with linespoints ls 3 title "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, dirichlet α 0.1", \
     $run3 using 4:2 with linespoints ls 4 title "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, label skew 0.8", \
     $run4 using 4:2 with linespoints ls 5 title "sgp, 1 Gbit/s, 1 ms, label skew 0.8", \
     $run5 using 4:2 with linespoints ls 6 title "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, label skew 0.8"
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-mb.svg'; replot; unset output

# accuracy-time
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 6
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: noniid\nAccuracy vs wall-clock time: lenet5 on fashion-mnist, 8 agents, 5 epochs" font 'Sans,15'
set xlabel "wall-clock time since the start barrier (s)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-time.png'
plot $run0 using 3:2 with linespoints ls 1 title "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, dirichlet α 0.1", \
     $run1 using 3:2 with linespoints ls 2 title "sgp, 1 Gbit/s, 1 ms, dirichlet α 0.1", \
     $run2 using 3:2 with linespoints ls 3 title "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, dirichlet α 0.1", \
     $run3 using 3:2 with linespoints ls 4 title "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, label skew 0.8", \
     $run4 using 3:2 with linespoints ls 5 title "sgp, 1 Gbit/s, 1 ms, label skew 0.8", \
     $run5 using 3:2 with linespoints ls 6 title "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, label skew 0.8"
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-time.svg'; replot; unset output

# energy: one bar per run, top to bottom in the order of REPORT.md
$energy << EOD
# y compute_J comm_J total_J label
6 1.72439 14.8195 16.5439 "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, dirichlet α 0.1"
5 1.72439 2042.32 2044.05 "sgp, 1 Gbit/s, 1 ms, dirichlet α 0.1"
4 1.72439 3.9298 5.65419 "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, dirichlet α 0.1"
3 1.72439 14.8184 16.5428 "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, label skew 0.8"
2 1.72439 2042.32 2044.05 "sgp, 1 Gbit/s, 1 ms, label skew 0.8"
1 1.72439 3.93015 5.65454 "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, label skew 0.8"
EOD
set terminal pngcairo size 1770,700 font 'Sans,13' noenhanced linewidth 1.3
set output 'energy.png'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: noniid\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, 5 epochs" font 'Sans,15'
set tmargin at screen 0.8643; set bmargin at screen 0.2143
set lmargin at screen 0.5424; set rmargin at screen 0.7684
set yrange [0.4:6.6]; set xrange [0:2657.26]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7977; set rmargin at screen 0.9785; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'
set terminal svg size 1770,700 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'energy.svg'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: noniid\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, 5 epochs" font 'Sans,15'
set tmargin at screen 0.8643; set bmargin at screen 0.2143
set lmargin at screen 0.5424; set rmargin at screen 0.7684
set yrange [0.4:6.6]; set xrange [0:2657.26]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7977; set rmargin at screen 0.9785; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'

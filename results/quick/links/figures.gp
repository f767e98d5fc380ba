# The figures of a meshtrain report, with their data: re-render in this folder with `gnuplot figures.gp`.
set encoding utf8
set style line 1 lc rgb '#0072B2' lw 2 pt 7 ps 1.4 dt 1
set style line 2 lc rgb '#D55E00' lw 2 pt 4 ps 1.4 dt 2
set style line 3 lc rgb '#009E73' lw 2 pt 9 ps 1.4 dt 1
set style line 4 lc rgb '#CC79A7' lw 2 pt 12 ps 1.4 dt 2
set style line 5 lc rgb '#E69F00' lw 2 pt 5 ps 1.4 dt 1
set style line 6 lc rgb '#56B4E9' lw 2 pt 6 ps 1.4 dt 2

# results/quick/runs/links/lan-sgp-seed1: sgp, 100 Mbit/s, 1 ms
$run0 << EOD
# epoch acc_mean_pct t_s cumulative_MB
0.502128 79.6612 11.45 233.07
1 82.4675 23.1916 464.164
1.50213 86.1012 35.0077 697.234
2 86.3900 47.0725 928.329
EOD

# results/quick/runs/links/lan-sparse-push-seed1: sparse-push top-k 0.1%, γ 0.01, 100 Mbit/s, 1 ms
$run1 << EOD
# epoch acc_mean_pct t_s cumulative_MB
0.502128 74.4975 5.85036 0.438695
1 77.5113 11.2524 0.880679
1.50213 82.7512 15.6816 1.32919
2 82.7925 21.1092 1.77458
EOD

# results/quick/runs/links/weak-sgp-seed1: sgp, 5 Mbit/s, 20 ms, 1% loss
$run2 << EOD
# epoch acc_mean_pct t_s cumulative_MB
0.502128 79.6612 95.4774 233.07
1 82.4675 178.19 464.164
1.50213 86.1012 260.034 697.234
2 86.3900 339.907 928.329
EOD

# results/quick/runs/links/weak-sparse-push-seed1: sparse-push top-k 0.1%, γ 0.01, 5 Mbit/s, 20 ms, 1% loss
$run3 << EOD
# epoch acc_mean_pct t_s cumulative_MB
0.502128 74.4975 7.66688 0.438695
1 77.5113 14.5472 0.880679
1.50213 82.7512 22.1618 1.32919
2 82.7925 29.3569 1.77458
EOD

# results/quick/runs/links/wifi-sgp-seed1: sgp, 20 Mbit/s, 5 ms, 0.5% loss
$run4 << EOD
# epoch acc_mean_pct t_s cumulative_MB
0.502128 79.6612 27.5392 233.07
1 82.4675 58.6518 464.164
1.50213 86.1012 85.3318 697.234
2 86.3900 110.681 928.329
EOD

# results/quick/runs/links/wifi-sparse-push-seed1: sparse-push top-k 0.1%, γ 0.01, 20 Mbit/s, 5 ms, 0.5% loss
$run5 << EOD
# epoch acc_mean_pct t_s cumulative_MB
0.502128 74.4975 6.93344 0.438695
1 77.5113 13.8369 0.880679
1.50213 82.7512 21.2497 1.32919
2 82.7925 27.6516 1.77458
EOD

# accuracy-epoch
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 6
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: links\nAccuracy vs epoch: lenet5 on fashion-mnist, 8 agents, iid, 2 epochs" font 'Sans,15'
set xlabel "epoch (passes over each agent's partition)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-epoch.png'
plot $run0 using 1:2 with linespoints ls 1 title "sgp, 100 Mbit/s, 1 ms", \
     $run1 using 1:2 with linespoints ls 2 title "sparse-push top-k 0.1%, γ 0.01, 100 Mbit/s, 1 ms", \
     $run2 using 1:2 with linespoints ls 3 title "sgp, 5 Mbit/s, 20 ms, 1% loss", \
     $run3 using 1:2 with linespoints ls 4 title "sparse-push top-k 0.1%, γ 0.01, 5 Mbit/s, 20 ms, 1% loss", \
     $run4 using 1:2 with linespoints ls 5 title "sgp, 20 Mbit/s, 5 ms, 0.5% loss", \
     $run5 using 1:2 with linespoints ls 6 title "sparse-push top-k 0.1%, γ 0.01, 20 Mbit/s, 5 ms, 0.5% loss"
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-epoch.svg'; replot; unset output

# accuracy-mb
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 6
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set logscale x 10; set format x '%g'; set mxtics 10
set title "reproduce-quick: links\nAccuracy vs data sent: lenet5 on fashion-mnist, 8 agents, iid, 2 epochs" font 'Sans,15'
set xlabel "data sent by all agents so far, payload + frame headers (MB, log scale)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-mb.png'
plot $run0 using 4:2 with linespoints ls 1 title "sgp, 100 Mbit/s, 1 ms", \
     $run1 using 4:2 with linespoints ls 2 title "sparse-push top-k 0.1%, γ 0.01, 100 Mbit/s, 1 ms", \
     $run2 using 4:2 with linespoints ls 3 title "sgp, 5 Mbit/s, 20 ms, 1% loss", \
     $run3 using 4:2 with linespoints ls 4 title "sparse-push top-k 0.1%, γ 0.01, 5 Mbit/s, 20 ms, 1% loss", \
     $run4 using 4:2 with linespoints ls 5 title "sgp, 20 Mbit/s, 5 ms, 0.5% loss", \
     $run5 using 4:2 with linespoints ls 6 title "sparse-push top-k 0.1%, γ 0.01, 20 Mbit/s, 5 ms, 0.5% loss"
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-mb.svg'; replot; unset output

# accuracy-time
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 6
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: links\nAccuracy vs wall-clock time: lenet5 on fashion-mnist, 8 agents, iid, 2 epochs" font 'Sans,15'
set xlabel "wall-clock time since the start barrier (s)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-time.png'
plot $run0 using 3:2 with linespoints ls 1 title "sgp, 100 Mbit/s, 1 ms", \
     $run1 using 3:2 with linespoints ls 2 title "sparse-push top-k 0.1%, γ 0.01, 100 Mbit/s, 1 ms", \
     $run2 using 3:2 with linespoints ls 3 title "sgp, 5 Mbit/s, 20 ms, 1% loss", \
     $run3 using 3:2 with linespoints ls 4 title "sparse-push top-k 0.1%, γ 0.01, 5 Mbit/s, 20 ms, 1% loss", \
     $run4 using 3:2 with linespoints ls 5 title "sgp, 20 Mbit/s, 5 ms, 0.5% loss", \
     $run5 using 3:2 with linespoints ls 6 title "sparse-push top-k 0.1%, γ 0.01, 20 Mbit/s, 5 ms, 0.5% loss"
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-time.svg'; replot; unset output

# energy: one bar per run, top to bottom in the order of REPORT.md
$energy << EOD
# y compute_J comm_J total_J label
6 0.689757 816.929 817.619 "sgp, 100 Mbit/s, 1 ms"
5 0.689757 1.56163 2.25139 "sparse-push top-k 0.1%, γ 0.01, 100 Mbit/s, 1 ms"
4 0.689757 816.929 817.619 "sgp, 5 Mbit/s, 20 ms, 1% loss"
3 0.689757 1.56163 2.25139 "sparse-push top-k 0.1%, γ 0.01, 5 Mbit/s, 20 ms, 1% loss"
2 0.689757 816.929 817.619 "sgp, 20 Mbit/s, 5 ms, 0.5% loss"
1 0.689757 1.56163 2.25139 "sparse-push top-k 0.1%, γ 0.01, 20 Mbit/s, 5 ms, 0.5% loss"
EOD
set terminal pngcairo size 1356,700 font 'Sans,13' noenhanced linewidth 1.3
set output 'energy.png'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: links\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, iid, 2 epochs" font 'Sans,15'
set tmargin at screen 0.8643; set bmargin at screen 0.2143
set lmargin at screen 0.4027; set rmargin at screen 0.6976
set yrange [0.4:6.6]; set xrange [0:1062.91]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7360; set rmargin at screen 0.9720; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'
set terminal svg size 1356,700 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'energy.svg'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: links\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, iid, 2 epochs" font 'Sans,15'
set tmargin at screen 0.8643; set bmargin at screen 0.2143
set lmargin at screen 0.4027; set rmargin at screen 0.6976
set yrange [0.4:6.6]; set xrange [0:1062.91]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7360; set rmargin at screen 0.9720; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'

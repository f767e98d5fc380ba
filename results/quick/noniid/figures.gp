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
1 45.1537 7.5644 2.08726
2 25.9512 14.4717 4.18055
3 71.4488 21.4329 8.75803
4 79.4150 28.7433 10.8657
5 82.2738 35.7545 16.6874
EOD

# results/quick/runs/noniid/dir-sgp-seed1: sgp, 1 Gbit/s, 1 ms, dirichlet α 0.1
$run1 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 70.7037 9.40903 464.134
2 77.4912 17.7406 928.269
3 83.5025 26.0227 1392.4
4 84.7463 34.4802 1856.54
5 88.0100 42.6505 2320.67
EOD

# results/quick/runs/noniid/dir-sparse-push-seed1: sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, dirichlet α 0.1
$run2 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 43.1200 7.43405 0.848693
2 47.9763 14.4093 1.71081
3 47.8775 21.4088 2.57713
4 51.5250 28.4889 3.44561
5 55.5650 35.6518 4.3154
EOD

# results/quick/runs/noniid/skew-sc-sparse-push-seed1: sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, label skew 0.8
$run3 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 59.9725 7.65084 2.08677
2 75.2275 14.6946 4.18132
3 81.3312 22.0852 8.75731
4 83.1525 29.5296 10.865
5 83.5075 36.7111 16.6867
EOD

# results/quick/runs/noniid/skew-sgp-seed1: sgp, 1 Gbit/s, 1 ms, label skew 0.8
$run4 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 71.5650 9.38236 464.134
2 76.9475 17.8726 928.269
3 84.1200 26.2965 1392.4
4 84.4450 34.6036 1856.54
5 88.3200 43.1476 2320.67
EOD

# results/quick/runs/noniid/skew-sparse-push-seed1: sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, label skew 0.8
$run5 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 62.5437 7.87938 0.848376
2 66.0887 14.7341 1.71097
3 72.9762 21.7268 2.57747
4 74.0713 28.7549 3.44593
5 76.1600 35.8333 4.31565
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
6 1.72439 14.6849 16.4093 "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, dirichlet α 0.1"
5 1.72439 2042.19 2043.92 "sgp, 1 Gbit/s, 1 ms, dirichlet α 0.1"
4 1.72439 3.79755 5.52195 "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, dirichlet α 0.1"
3 1.72439 14.6843 16.4087 "sc-sparse-push top-k 0.1%, γ 0.01, 10 compensation rounds every 1 epoch, 1 Gbit/s, 1 ms, label skew 0.8"
2 1.72439 2042.19 2043.92 "sgp, 1 Gbit/s, 1 ms, label skew 0.8"
1 1.72439 3.79777 5.52216 "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms, label skew 0.8"
EOD
set terminal pngcairo size 1770,700 font 'Sans,13' noenhanced linewidth 1.3
set output 'energy.png'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: noniid\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, 5 epochs" font 'Sans,15'
set tmargin at screen 0.8643; set bmargin at screen 0.2143
set lmargin at screen 0.5424; set rmargin at screen 0.7684
set yrange [0.4:6.6]; set xrange [0:2657.09]
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
set yrange [0.4:6.6]; set xrange [0:2657.09]
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

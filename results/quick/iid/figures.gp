# The figures of a meshtrain report, with their data: re-render in this folder with `gnuplot figures.gp`.
set encoding utf8
set style line 1 lc rgb '#0072B2' lw 2 pt 7 ps 1.4 dt 1
set style line 2 lc rgb '#D55E00' lw 2 pt 4 ps 1.4 dt 2
set style line 3 lc rgb '#009E73' lw 2 pt 9 ps 1.4 dt 1
set style line 4 lc rgb '#CC79A7' lw 2 pt 12 ps 1.4 dt 2
set style line 5 lc rgb '#E69F00' lw 2 pt 5 ps 1.4 dt 1
set style line 6 lc rgb '#56B4E9' lw 2 pt 6 ps 1.4 dt 2

# results/quick/runs/iid/iid-allreduce-seed1: allreduce, 1 Gbit/s, 1 ms
$run0 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 81.1300 16.2688 813.104
2 87.4800 29.5422 1626.21
3 88.0100 43.0909 2439.31
4 89.0400 56.4883 3252.42
5 89.8300 70.0674 4065.52
6 89.7100 84.0826 4878.62
7 90.3500 97.0731 5691.73
8 90.5900 110.371 6504.83
9 90.6100 123.529 7317.93
10 90.6400 136.345 8131.04
EOD

# results/quick/runs/iid/iid-choco-seed1: choco top-k 1%, γ 0.01, 1 Gbit/s, 1 ms
$run1 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 75.5662 8.3526 18.7205
2 82.3200 16.8128 37.3692
3 83.8287 24.8383 56.0305
4 85.3012 32.8825 74.7024
5 86.5900 41 93.3801
6 87.0438 48.9538 112.068
7 88.3475 56.7303 130.767
8 88.9613 64.5274 149.483
9 89.2338 72.5217 168.228
10 89.3200 80.4836 187.01
EOD

# results/quick/runs/iid/iid-deepsqueeze-seed1: deepsqueeze 8-bit, γ 0.2, 1 Gbit/s, 1 ms
$run2 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 78.5300 8.16473 116.263
2 85.1950 15.6344 232.526
3 86.4975 22.9249 348.789
4 87.1762 30.3961 465.052
5 88.3050 37.9758 581.315
6 88.6375 45.3055 697.578
7 89.4437 52.7558 813.841
8 89.7338 60.1737 930.104
9 89.9288 67.8865 1046.37
10 89.9787 75.2021 1168.55
EOD

# results/quick/runs/iid/iid-dpsgd-seed1: dpsgd, 1 Gbit/s, 1 ms
$run3 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 81.3725 13.96 928.269
2 86.2400 25.3306 1856.54
3 87.8462 37.464 2784.81
4 88.2188 48.6046 3713.08
5 89.0487 59.8333 4641.34
6 88.8537 70.5926 5569.61
7 89.9787 82.161 6497.88
8 90.0800 92.9993 7426.15
9 90.2950 103.746 8354.42
10 90.3200 115.145 9294.54
EOD

# results/quick/runs/iid/iid-sgp-seed1: sgp, 1 Gbit/s, 1 ms
$run4 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 80.9400 11.0662 464.134
2 86.0600 20.6836 928.269
3 87.6725 29.7888 1392.4
4 88.3988 39.0377 1856.54
5 89.2413 48.6284 2320.67
6 89.3625 58.7997 2784.81
7 90.1500 68.1671 3248.94
8 90.3337 78.7234 3713.08
9 90.4525 88.5023 4177.21
10 90.4200 98.0689 4647.27
EOD

# results/quick/runs/iid/iid-sparse-push-seed1: sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms
$run5 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 73.8062 7.58181 0.849899
2 81.3050 14.9835 1.71027
3 83.2750 22.0783 2.57414
4 84.1375 29.1969 3.43971
5 85.4087 36.4257 4.30606
6 85.9338 43.7368 5.1734
7 87.0763 51.2062 6.04218
8 87.6838 58.266 6.91166
9 87.9938 65.9353 7.78195
10 88.6400 73.1541 14.5781
EOD

# accuracy-epoch
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 6
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: iid\nAccuracy vs epoch: lenet5 on fashion-mnist, 8 agents, iid, 10 epochs" font 'Sans,15'
set xlabel "epoch (passes over each agent's partition)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-epoch.png'
plot $run0 using 1:2 with linespoints ls 1 title "allreduce, 1 Gbit/s, 1 ms", \
     $run1 using 1:2 with linespoints ls 2 title "choco top-k 1%, γ 0.01, 1 Gbit/s, 1 ms", \
     $run2 using 1:2 with linespoints ls 3 title "deepsqueeze 8-bit, γ 0.2, 1 Gbit/s, 1 ms", \
     $run3 using 1:2 with linespoints ls 4 title "dpsgd, 1 Gbit/s, 1 ms", \
     $run4 using 1:2 with linespoints ls 5 title "sgp, 1 Gbit/s, 1 ms", \
     $run5 using 1:2 with linespoints ls 6 title "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms"
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-epoch.svg'; replot; unset output

# accuracy-mb
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 6
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set logscale x 10; set format x '%g'; set mxtics 10
set title "reproduce-quick: iid\nAccuracy vs data sent: lenet5 on fashion-mnist, 8 agents, iid, 10 epochs" font 'Sans,15'
set xlabel "data sent by all agents so far, payload + frame headers (MB, log scale)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-mb.png'
plot $run0 using 4:2 with linespoints ls 1 title "allreduce, 1 Gbit/s, 1 ms", \
     $run1 using 4:2 with linespoints ls 2 title "choco top-k 1%, γ 0.01, 1 Gbit/s, 1 ms", \
     $run2 using 4:2 with linespoints ls 3 title "deepsqueeze 8-bit, γ 0.2, 1 Gbit/s, 1 ms", \
     $run3 using 4:2 with linespoints ls 4 title "dpsgd, 1 Gbit/s, 1 ms", \
     $run4 using 4:2 with linespoints ls 5 title "sgp, 1 Gbit/s, 1 ms", \
     $run5 using 4:2 with linespoints ls 6 title "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms"
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-mb.svg'; replot; unset output

# accuracy-time
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 6
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: iid\nAccuracy vs wall-clock time: lenet5 on fashion-mnist, 8 agents, iid, 10 epochs" font 'Sans,15'
set xlabel "wall-clock time since the start barrier (s)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-time.png'
plot $run0 using 3:2 with linespoints ls 1 title "allreduce, 1 Gbit/s, 1 ms", \
     $run1 using 3:2 with linespoints ls 2 title "choco top-k 1%, γ 0.01, 1 Gbit/s, 1 ms", \
     $run2 using 3:2 with linespoints ls 3 title "deepsqueeze 8-bit, γ 0.2, 1 Gbit/s, 1 ms", \
     $run3 using 3:2 with linespoints ls 4 title "dpsgd, 1 Gbit/s, 1 ms", \
     $run4 using 3:2 with linespoints ls 5 title "sgp, 1 Gbit/s, 1 ms", \
     $run5 using 3:2 with linespoints ls 6 title "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms"
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-time.svg'; replot; unset output

# energy: one bar per run, top to bottom in the order of REPORT.md
$energy << EOD
# y compute_J comm_J total_J label
6 3.44879 7155.31 7158.76 "allreduce, 1 Gbit/s, 1 ms"
5 3.44879 164.569 168.018 "choco top-k 1%, γ 0.01, 1 Gbit/s, 1 ms"
4 3.44879 1028.33 1031.78 "deepsqueeze 8-bit, γ 0.2, 1 Gbit/s, 1 ms"
3 3.44879 8179.19 8182.64 "dpsgd, 1 Gbit/s, 1 ms"
2 3.44879 4089.6 4093.05 "sgp, 1 Gbit/s, 1 ms"
1 3.44879 12.8287 16.2775 "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms"
EOD
set terminal pngcairo size 1280,700 font 'Sans,13' noenhanced linewidth 1.3
set output 'energy.png'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: iid\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, iid, 10 epochs" font 'Sans,15'
set tmargin at screen 0.8643; set bmargin at screen 0.2143
set lmargin at screen 0.3422; set rmargin at screen 0.6797
set yrange [0.4:6.6]; set xrange [0:10637.4]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7203; set rmargin at screen 0.9703; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'
set terminal svg size 1280,700 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'energy.svg'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: iid\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, iid, 10 epochs" font 'Sans,15'
set tmargin at screen 0.8643; set bmargin at screen 0.2143
set lmargin at screen 0.3422; set rmargin at screen 0.6797
set yrange [0.4:6.6]; set xrange [0:10637.4]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7203; set rmargin at screen 0.9703; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'

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
1 82.3800 36.0588 813.525
2 87.5300 69.1842 1627.05
3 87.6600 103.078 2440.57
4 89.0200 130.681 3254.1
5 89.6600 160.849 4067.62
6 89.5800 181.339 4881.15
7 90.3400 202.396 5694.67
8 90.5300 222.776 6508.2
9 90.5100 245.519 7321.72
10 90.7100 275.135 8135.25
EOD

# results/quick/runs/iid/iid-choco-seed1: choco top-k 1%, γ 0.01, 1 Gbit/s, 1 ms
$run1 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.6675 13.1999 18.8102
2 82.6250 28.4214 37.5556
3 83.9188 41.01 56.3147
4 85.3675 52.7325 75.0848
5 86.6525 67.2763 93.8627
6 87.1012 80.9904 112.652
7 88.4363 91.8808 131.452
8 88.9050 104.574 150.265
9 89.2963 118.778 169.104
10 89.3837 131.532 187.979
EOD

# results/quick/runs/iid/iid-deepsqueeze-seed1: deepsqueeze 8-bit, γ 0.2, 1 Gbit/s, 1 ms
$run2 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 77.5850 12.9063 116.293
2 85.2163 23.6273 232.586
3 86.4875 34.2733 348.879
4 87.2250 45.6771 465.172
5 88.2888 58.7839 581.465
6 88.5600 70.728 697.758
7 89.5487 81.8818 814.051
8 89.8200 94.4471 930.344
9 89.9300 102.831 1046.64
10 89.9737 112.311 1168.86
EOD

# results/quick/runs/iid/iid-dpsgd-seed1: dpsgd, 1 Gbit/s, 1 ms
$run3 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 81.5225 23.2401 928.329
2 86.0825 57.0633 1856.66
3 87.5325 80.9653 2784.99
4 88.3275 104.758 3713.32
5 89.0800 127.364 4641.64
6 88.9387 148.925 5569.97
7 89.9288 171.016 6498.3
8 90.1375 187.042 7426.63
9 90.2325 203.172 8354.96
10 90.2400 219.25 9295.14
EOD

# results/quick/runs/iid/iid-sgp-seed1: sgp, 1 Gbit/s, 1 ms
$run4 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 81.2275 12.4192 464.164
2 86.2825 24.2332 928.329
3 87.3150 37.701 1392.49
4 88.3513 48.6639 1856.66
5 89.3137 63.482 2320.82
6 89.5150 78.2053 2784.99
7 90.1800 93.581 3249.15
8 90.2687 106.292 3713.32
9 90.3375 119.028 4177.48
10 90.3800 134.185 4647.57
EOD

# results/quick/runs/iid/iid-sparse-push-seed1: sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms
$run5 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.6713 7.78951 0.880043
2 81.5413 18.0805 1.77151
3 82.6300 26.2784 2.66578
4 84.2850 35.0222 3.56189
5 85.5025 42.6814 4.45876
6 85.9000 50.0602 5.35699
7 87.2837 60.0564 6.25596
8 87.7350 70.018 7.15585
9 87.9562 82.837 8.05657
10 88.6700 90.4015 14.8834
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
6 3.44879 7159.02 7162.47 "allreduce, 1 Gbit/s, 1 ms"
5 3.44879 165.422 168.87 "choco top-k 1%, γ 0.01, 1 Gbit/s, 1 ms"
4 3.44879 1028.59 1032.04 "deepsqueeze 8-bit, γ 0.2, 1 Gbit/s, 1 ms"
3 3.44879 8179.72 8183.17 "dpsgd, 1 Gbit/s, 1 ms"
2 3.44879 4089.86 4093.31 "sgp, 1 Gbit/s, 1 ms"
1 3.44879 13.0974 16.5462 "sparse-push top-k 0.1%, γ 0.01, 1 Gbit/s, 1 ms"
EOD
set terminal pngcairo size 1280,700 font 'Sans,13' noenhanced linewidth 1.3
set output 'energy.png'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: iid\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, iid, 10 epochs" font 'Sans,15'
set tmargin at screen 0.8643; set bmargin at screen 0.2143
set lmargin at screen 0.3422; set rmargin at screen 0.6797
set yrange [0.4:6.6]; set xrange [0:10638.1]
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
set yrange [0.4:6.6]; set xrange [0:10638.1]
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

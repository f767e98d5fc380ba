# The figures of a meshtrain report, with their data: re-render in this folder with `gnuplot figures.gp`.
set encoding utf8
set style line 1 lc rgb '#0072B2' lw 2 pt 7 ps 1.4 dt 1
set style line 2 lc rgb '#D55E00' lw 2 pt 4 ps 1.4 dt 2
set style line 3 lc rgb '#009E73' lw 2 pt 9 ps 1.4 dt 1
set style line 4 lc rgb '#CC79A7' lw 2 pt 12 ps 1.4 dt 2
set style line 5 lc rgb '#E69F00' lw 2 pt 5 ps 1.4 dt 1
set style line 6 lc rgb '#56B4E9' lw 2 pt 6 ps 1.4 dt 2
set style line 7 lc rgb '#000000' lw 2 pt 11 ps 1.4 dt 1
set style line 8 lc rgb '#999999' lw 2 pt 14 ps 1.4 dt 2
set style line 9 lc rgb '#0072B2' lw 2 pt 7 ps 1.4 dt 1
set style line 10 lc rgb '#D55E00' lw 2 pt 4 ps 1.4 dt 3
set style line 11 lc rgb '#009E73' lw 2 pt 9 ps 1.4 dt 1
set style line 12 lc rgb '#CC79A7' lw 2 pt 12 ps 1.4 dt 3
set style line 13 lc rgb '#E69F00' lw 2 pt 5 ps 1.4 dt 1

# /work/lp-out/runs/lowprec/lp-iid-choco-dense-seed1: choco, +50 training-codec consensus rounds
$run0 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 80.2375 8.8664 464.495
2 87.2350 19.7081 928.991
3 89.2400 31.9394 1492.31
EOD

# /work/lp-out/runs/lowprec/lp-iid-choco-topk-seed1: choco top-k 1%, γ 0.01, +50 training-codec consensus rounds
$run1 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.7500 9.1612 6.31868
2 84.3150 19.9803 12.6355
3 87.1175 32.0574 20.3297
EOD

# /work/lp-out/runs/lowprec/lp-iid-ds-dense-seed1: deepsqueeze, +50 training-codec consensus rounds
$run2 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 80.1225 10.0623 464.495
2 87.3075 21.1124 928.991
3 89.2600 35.2119 1492.31
EOD

# /work/lp-out/runs/lowprec/lp-iid-ds-topk-seed1: deepsqueeze top-k 1%, γ 0.01, +50 training-codec consensus rounds
$run3 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.2225 10.6223 6.35633
2 84.2025 24.654 12.7116
3 86.6825 38.6848 20.4189
EOD

# /work/lp-out/runs/lowprec/lp-sgp-seed1: sgp, iid
$run4 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 80.0850 2.86978 464.495
2 87.5700 5.75704 928.991
3 89.1600 10.3678 1393.49
EOD

# /work/lp-out/runs/lowprec/lp-skew-choco-dense-seed1: choco, label skew 0.8, +50 training-codec consensus rounds
$run5 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 71.3425 16.3079 464.495
2 77.5400 31.6989 928.991
3 86.4000 40.6841 1492.31
EOD

# /work/lp-out/runs/lowprec/lp-skew-choco-topk-seed1: choco top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds
$run6 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 65.7100 17.7065 6.31581
2 71.4200 29.5642 12.6281
3 78.8350 37.3279 20.3188
EOD

# /work/lp-out/runs/lowprec/lp-skew-ds-dense-seed1: deepsqueeze, label skew 0.8, +50 training-codec consensus rounds
$run7 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 71.4325 7.68366 464.495
2 77.6975 13.9629 928.991
3 86.4400 20.2464 1492.31
EOD

# /work/lp-out/runs/lowprec/lp-skew-ds-topk-seed1: deepsqueeze top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds
$run8 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 65.2500 7.54747 6.35669
2 71.4650 13.8739 12.7128
3 78.0425 20.2399 20.4213
EOD

# /work/lp-out/runs/lowprec/lp-sp-topk-exact-seed1: sparse-push top-k 1%, γ 0.01, +3 exact consensus rounds
$run9 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.8350 8.25777 6.25508
2 84.4650 16.0036 12.5594
3 87.4800 32.1306 24.8367
EOD

# /work/lp-out/runs/lowprec/lp-sp-topk-training-seed1: sparse-push top-k 1%, γ 0.01, +50 training-codec consensus rounds
$run10 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.8350 8.34372 6.25508
2 84.4650 16.1398 12.5594
3 87.2650 32.5025 20.259
EOD

# /work/lp-out/runs/lowprec/lp-sp-topk8-exact-seed1: sparse-push top-k 1% 8-bit, γ 0.01, +3 exact consensus rounds
$run11 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.8725 17.3101 2.74234
2 84.6025 34.1494 5.47769
3 87.3800 48.545 14.1391
EOD

# /work/lp-out/runs/lowprec/lp-sp-topk8-training-seed1: sparse-push top-k 1% 8-bit, γ 0.01, +50 training-codec consensus rounds
$run12 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.8725 17.2902 2.74234
2 84.6025 34.1376 5.47769
3 87.2925 49.0473 8.79049
EOD

# accuracy-epoch
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 13
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: lowprec\nAccuracy vs epoch: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set xlabel "epoch (passes over each agent's partition)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,945 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-epoch.png'
plot $run0 using 1:2 with linespoints ls 1 title "choco, +50 training-codec consensus rounds", \
     $run1 using 1:2 with linespoints ls 2 title "choco top-k 1%, γ 0.01, +50 training-codec consensus rounds", \
     $run2 using 1:2 with linespoints ls 3 title "deepsqueeze, +50 training-codec consensus rounds", \
     $run3 using 1:2 with linespoints ls 4 title "deepsqueeze top-k 1%, γ 0.01, +50 training-codec consensus rounds", \
     $run4 using 1:2 with linespoints ls 5 title "sgp, iid", \
     $run5 using 1:2 with linespoints ls 6 title "choco, label skew 0.8, +50 training-codec consensus rounds", \
     $run6 using 1:2 with linespoints ls 7 title "choco top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds", \
     $run7 using 1:2 with linespoints ls 8 title "deepsqueeze, label skew 0.8, +50 training-codec consensus rounds", \
     $run8 using 1:2 with linespoints ls 9 title "deepsqueeze top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds", \
     $run9 using 1:2 with linespoints ls 10 title "sparse-push top-k 1%, γ 0.01, +3 exact consensus rounds", \
     $run10 using 1:2 with linespoints ls 11 title "sparse-push top-k 1%, γ 0.01, +50 training-codec consensus rounds", \
     $run11 using 1:2 with linespoints ls 12 title "sparse-push top-k 1% 8-bit, γ 0.01, +3 exact consensus rounds", \
     $run12 using 1:2 with linespoints ls 13 title "sparse-push top-k 1% 8-bit, γ 0.01, +50 training-codec consensus rounds"
set terminal svg size 1280,945 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-epoch.svg'; replot; unset output

# accuracy-mb
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 13
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set logscale x 10; set format x '%g'; set mxtics 10
set title "reproduce-quick: lowprec\nAccuracy vs data sent: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set xlabel "data sent by all agents so far, payload + frame headers (MB, log scale)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,945 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-mb.png'
plot $run0 using 4:2 with linespoints ls 1 title "choco, +50 training-codec consensus rounds", \
     $run1 using 4:2 with linespoints ls 2 title "choco top-k 1%, γ 0.01, +50 training-codec consensus rounds", \
     $run2 using 4:2 with linespoints ls 3 title "deepsqueeze, +50 training-codec consensus rounds", \
     $run3 using 4:2 with linespoints ls 4 title "deepsqueeze top-k 1%, γ 0.01, +50 training-codec consensus rounds", \
     $run4 using 4:2 with linespoints ls 5 title "sgp, iid", \
     $run5 using 4:2 with linespoints ls 6 title "choco, label skew 0.8, +50 training-codec consensus rounds", \
     $run6 using 4:2 with linespoints ls 7 title "choco top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds", \
     $run7 using 4:2 with linespoints ls 8 title "deepsqueeze, label skew 0.8, +50 training-codec consensus rounds", \
     $run8 using 4:2 with linespoints ls 9 title "deepsqueeze top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds", \
     $run9 using 4:2 with linespoints ls 10 title "sparse-push top-k 1%, γ 0.01, +3 exact consensus rounds", \
     $run10 using 4:2 with linespoints ls 11 title "sparse-push top-k 1%, γ 0.01, +50 training-codec consensus rounds", \
     $run11 using 4:2 with linespoints ls 12 title "sparse-push top-k 1% 8-bit, γ 0.01, +3 exact consensus rounds", \
     $run12 using 4:2 with linespoints ls 13 title "sparse-push top-k 1% 8-bit, γ 0.01, +50 training-codec consensus rounds"
set terminal svg size 1280,945 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-mb.svg'; replot; unset output

# accuracy-time
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 13
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: lowprec\nAccuracy vs wall-clock time: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set xlabel "wall-clock time since the start barrier (s)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,945 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-time.png'
plot $run0 using 3:2 with linespoints ls 1 title "choco, +50 training-codec consensus rounds", \
     $run1 using 3:2 with linespoints ls 2 title "choco top-k 1%, γ 0.01, +50 training-codec consensus rounds", \
     $run2 using 3:2 with linespoints ls 3 title "deepsqueeze, +50 training-codec consensus rounds", \
     $run3 using 3:2 with linespoints ls 4 title "deepsqueeze top-k 1%, γ 0.01, +50 training-codec consensus rounds", \
     $run4 using 3:2 with linespoints ls 5 title "sgp, iid", \
     $run5 using 3:2 with linespoints ls 6 title "choco, label skew 0.8, +50 training-codec consensus rounds", \
     $run6 using 3:2 with linespoints ls 7 title "choco top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds", \
     $run7 using 3:2 with linespoints ls 8 title "deepsqueeze, label skew 0.8, +50 training-codec consensus rounds", \
     $run8 using 3:2 with linespoints ls 9 title "deepsqueeze top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds", \
     $run9 using 3:2 with linespoints ls 10 title "sparse-push top-k 1%, γ 0.01, +3 exact consensus rounds", \
     $run10 using 3:2 with linespoints ls 11 title "sparse-push top-k 1%, γ 0.01, +50 training-codec consensus rounds", \
     $run11 using 3:2 with linespoints ls 12 title "sparse-push top-k 1% 8-bit, γ 0.01, +3 exact consensus rounds", \
     $run12 using 3:2 with linespoints ls 13 title "sparse-push top-k 1% 8-bit, γ 0.01, +50 training-codec consensus rounds"
set terminal svg size 1280,945 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-time.svg'; replot; unset output

# energy: one bar per run, top to bottom in the order of REPORT.md
$energy << EOD
# y compute_J comm_J total_J label
13 1.03464 1313.24 1314.27 "choco, +50 training-codec consensus rounds"
12 1.03464 17.8901 18.9247 "choco top-k 1%, γ 0.01, +50 training-codec consensus rounds"
11 1.03464 1313.24 1314.27 "deepsqueeze, +50 training-codec consensus rounds"
10 1.03464 17.9686 19.0033 "deepsqueeze top-k 1%, γ 0.01, +50 training-codec consensus rounds"
9 1.03464 1226.27 1227.3 "sgp, iid"
8 1.03464 1313.24 1314.27 "choco, label skew 0.8, +50 training-codec consensus rounds"
7 1.03464 17.8806 18.9152 "choco top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds"
6 1.03464 1313.24 1314.27 "deepsqueeze, label skew 0.8, +50 training-codec consensus rounds"
5 1.03464 17.9707 19.0054 "deepsqueeze top-k 1%, γ 0.01, label skew 0.8, +50 training-codec consensus rounds"
4 1.03464 21.8563 22.8909 "sparse-push top-k 1%, γ 0.01, +3 exact consensus rounds"
3 1.03464 17.8279 18.8626 "sparse-push top-k 1%, γ 0.01, +50 training-codec consensus rounds"
2 1.03464 12.4424 13.477 "sparse-push top-k 1% 8-bit, γ 0.01, +3 exact consensus rounds"
1 1.03464 7.73563 8.77026 "sparse-push top-k 1% 8-bit, γ 0.01, +50 training-codec consensus rounds"
EOD
set terminal pngcairo size 1563,1190 font 'Sans,13' noenhanced linewidth 1.3
set output 'energy.png'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: lowprec\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set tmargin at screen 0.9202; set bmargin at screen 0.1261
set lmargin at screen 0.4818; set rmargin at screen 0.7377
set yrange [0.4:13.6]; set xrange [0:1708.55]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7710; set rmargin at screen 0.9757; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'
set terminal svg size 1563,1190 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'energy.svg'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: lowprec\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set tmargin at screen 0.9202; set bmargin at screen 0.1261
set lmargin at screen 0.4818; set rmargin at screen 0.7377
set yrange [0.4:13.6]; set xrange [0:1708.55]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7710; set rmargin at screen 0.9757; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'

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
set style line 14 lc rgb '#56B4E9' lw 2 pt 6 ps 1.4 dt 3
set style line 15 lc rgb '#000000' lw 2 pt 11 ps 1.4 dt 1
set style line 16 lc rgb '#999999' lw 2 pt 14 ps 1.4 dt 3
set style line 17 lc rgb '#0072B2' lw 2 pt 7 ps 1.4 dt 1
set style line 18 lc rgb '#D55E00' lw 2 pt 4 ps 1.4 dt 4
set style line 19 lc rgb '#009E73' lw 2 pt 9 ps 1.4 dt 1
set style line 20 lc rgb '#CC79A7' lw 2 pt 12 ps 1.4 dt 4
set style line 21 lc rgb '#E69F00' lw 2 pt 5 ps 1.4 dt 1
set style line 22 lc rgb '#56B4E9' lw 2 pt 6 ps 1.4 dt 4
set style line 23 lc rgb '#000000' lw 2 pt 11 ps 1.4 dt 1
set style line 24 lc rgb '#999999' lw 2 pt 14 ps 1.4 dt 4
set style line 25 lc rgb '#0072B2' lw 2 pt 7 ps 1.4 dt 1
set style line 26 lc rgb '#D55E00' lw 2 pt 4 ps 1.4 dt 2
set style line 27 lc rgb '#009E73' lw 2 pt 9 ps 1.4 dt 1
set style line 28 lc rgb '#CC79A7' lw 2 pt 12 ps 1.4 dt 2
set style line 29 lc rgb '#E69F00' lw 2 pt 5 ps 1.4 dt 1
set style line 30 lc rgb '#56B4E9' lw 2 pt 6 ps 1.4 dt 2

# results/quick/runs/heterogeneous/a0.01-d2-drop1-seed1: d2, dirichlet α 0.01, 1% messages dropped
$run0 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 55.8412 8.63355 932.219
2 49.5525 18.7277 1864.44
EOD

# results/quick/runs/heterogeneous/a0.01-d2-drop10-seed1: d2, dirichlet α 0.01, 10% messages dropped
$run1 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 56.8819 4.76265 932.219
2 13.2981 9.49367 1864.44
EOD

# results/quick/runs/heterogeneous/a0.01-d2-seed1: d2, dirichlet α 0.01
$run2 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 57.1412 8.7382 932.219
2 66.2900 18.3003 1864.44
EOD

# results/quick/runs/heterogeneous/a0.01-dpsgd-qgm-seed1: dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)
$run3 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 40.1781 6.83713 932.279
2 70.3775 11.4675 1864.56
EOD

# results/quick/runs/heterogeneous/a0.01-dpsgd-seed1: dpsgd, dirichlet α 0.01
$run4 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 37.2106 9.04763 932.279
2 61.0606 31.7801 1864.56
EOD

# results/quick/runs/heterogeneous/a0.01-gradient-tracking-seed1: gradient-tracking, dirichlet α 0.01
$run5 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 40.6131 9.20847 1864.23
2 44.5681 18.1812 3728.45
EOD

# results/quick/runs/heterogeneous/a0.01-relaysgd-corr-seed1: relaysgd, dirichlet α 0.01 (a0.01-relaysgd-corr)
$run6 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 64.2881 7.437 874.182
2 76.6744 18.5492 1748.36
EOD

# results/quick/runs/heterogeneous/a0.01-relaysgd-drop1-seed1: relaysgd, dirichlet α 0.01, 1% messages dropped
$run7 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 66.9081 8.72586 874.182
2 77.8806 17.6721 1748.36
EOD

# results/quick/runs/heterogeneous/a0.01-relaysgd-drop10-seed1: relaysgd, dirichlet α 0.01, 10% messages dropped
$run8 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 59.4962 8.81789 874.182
2 78.0650 16.1912 1748.36
EOD

# results/quick/runs/heterogeneous/a0.01-relaysgd-seed1: relaysgd, dirichlet α 0.01
$run9 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 70.5688 7.84697 874.182
2 77.8738 17.6275 1748.36
EOD

# results/quick/runs/heterogeneous/a0.01-sgp-seed1: sgp, dirichlet α 0.01
$run10 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 35.6212 7.48201 466.14
2 74.5613 17.0055 932.279
EOD

# results/quick/runs/heterogeneous/a0.1-d2-drop1-seed1: d2, dirichlet α 0.1, 1% messages dropped
$run11 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 66.2725 4.69118 932.219
2 52.7906 18.9514 1864.44
EOD

# results/quick/runs/heterogeneous/a0.1-d2-drop10-seed1: d2, dirichlet α 0.1, 10% messages dropped
$run12 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 66.1519 8.51973 932.219
2 22.0938 17.9364 1864.44
EOD

# results/quick/runs/heterogeneous/a0.1-d2-seed1: d2, dirichlet α 0.1
$run13 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 65.7719 9.27182 932.219
2 76.6287 17.6646 1864.44
EOD

# results/quick/runs/heterogeneous/a0.1-dpsgd-qgm-seed1: dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)
$run14 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 54.3625 16.2326 932.279
2 75.2375 24.5368 1864.56
EOD

# results/quick/runs/heterogeneous/a0.1-dpsgd-seed1: dpsgd, dirichlet α 0.1
$run15 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 47.5625 11.8597 932.279
2 70.0225 34.3844 1864.56
EOD

# results/quick/runs/heterogeneous/a0.1-gradient-tracking-seed1: gradient-tracking, dirichlet α 0.1
$run16 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 59.7563 12.8117 1864.23
2 74.1050 24.2918 3728.45
EOD

# results/quick/runs/heterogeneous/a0.1-relaysgd-corr-seed1: relaysgd, dirichlet α 0.1 (a0.1-relaysgd-corr)
$run17 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.8319 13.6839 874.182
2 81.8725 28.4742 1748.36
EOD

# results/quick/runs/heterogeneous/a0.1-relaysgd-drop1-seed1: relaysgd, dirichlet α 0.1, 1% messages dropped
$run18 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.3819 9.35132 874.182
2 81.4387 17.0637 1748.36
EOD

# results/quick/runs/heterogeneous/a0.1-relaysgd-drop10-seed1: relaysgd, dirichlet α 0.1, 10% messages dropped
$run19 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 70.8662 5.80762 874.182
2 82.3156 10.2398 1748.36
EOD

# results/quick/runs/heterogeneous/a0.1-relaysgd-seed1: relaysgd, dirichlet α 0.1
$run20 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.8319 13.7562 874.182
2 81.8725 22.2763 1748.36
EOD

# results/quick/runs/heterogeneous/a0.1-sgp-seed1: sgp, dirichlet α 0.1
$run21 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 61.1025 7.02079 466.14
2 80.4350 18.3297 932.279
EOD

# results/quick/runs/heterogeneous/a1-d2-seed1: d2, dirichlet α 1
$run22 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 69.4375 13.959 932.219
2 81.9719 44.4079 1864.44
EOD

# results/quick/runs/heterogeneous/a1-dpsgd-qgm-seed1: dpsgd, dirichlet α 1 (a1-dpsgd-qgm)
$run23 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 66.0656 7.55853 932.279
2 83.1181 17.5078 1864.56
EOD

# results/quick/runs/heterogeneous/a1-dpsgd-seed1: dpsgd, dirichlet α 1
$run24 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 57.3275 8.59384 932.279
2 79.3119 22.6603 1864.56
EOD

# results/quick/runs/heterogeneous/a1-gradient-tracking-seed1: gradient-tracking, dirichlet α 1
$run25 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 67.1381 20.3421 1864.23
2 80.6644 29.8222 3728.45
EOD

# results/quick/runs/heterogeneous/a1-relaysgd-corr-seed1: relaysgd, dirichlet α 1 (a1-relaysgd-corr)
$run26 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 75.3019 12.6373 874.182
2 83.6088 25.3306 1748.36
EOD

# results/quick/runs/heterogeneous/a1-relaysgd-seed1: relaysgd, dirichlet α 1
$run27 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.8838 6.6462 874.182
2 82.4737 20.4196 1748.36
EOD

# results/quick/runs/heterogeneous/a1-sgp-seed1: sgp, dirichlet α 1
$run28 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 67.7425 11.2104 466.14
2 83.2425 29.4736 932.279
EOD

# results/quick/runs/heterogeneous/iid-allreduce-seed1: allreduce, iid
$run29 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 77.9500 19.9391 876.929
2 85.0200 30.7651 1753.86
EOD

# accuracy-epoch
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 30
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: heterogeneous\nAccuracy vs epoch: lenet5 on fashion-mnist, 16 agents, 2 epochs" font 'Sans,15'
set xlabel "epoch (passes over each agent's partition)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,1370 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-epoch.png'
plot $run0 using 1:2 with linespoints ls 1 title "d2, dirichlet α 0.01, 1% messages dropped", \
     $run1 using 1:2 with linespoints ls 2 title "d2, dirichlet α 0.01, 10% messages dropped", \
     $run2 using 1:2 with linespoints ls 3 title "d2, dirichlet α 0.01", \
     $run3 using 1:2 with linespoints ls 4 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)", \
     $run4 using 1:2 with linespoints ls 5 title "dpsgd, dirichlet α 0.01", \
     $run5 using 1:2 with linespoints ls 6 title "gradient-tracking, dirichlet α 0.01", \
     $run6 using 1:2 with linespoints ls 7 title "relaysgd, dirichlet α 0.01 (a0.01-relaysgd-corr)", \
     $run7 using 1:2 with linespoints ls 8 title "relaysgd, dirichlet α 0.01, 1% messages dropped", \
     $run8 using 1:2 with linespoints ls 9 title "relaysgd, dirichlet α 0.01, 10% messages dropped", \
     $run9 using 1:2 with linespoints ls 10 title "relaysgd, dirichlet α 0.01", \
     $run10 using 1:2 with linespoints ls 11 title "sgp, dirichlet α 0.01", \
     $run11 using 1:2 with linespoints ls 12 title "d2, dirichlet α 0.1, 1% messages dropped", \
     $run12 using 1:2 with linespoints ls 13 title "d2, dirichlet α 0.1, 10% messages dropped", \
     $run13 using 1:2 with linespoints ls 14 title "d2, dirichlet α 0.1", \
     $run14 using 1:2 with linespoints ls 15 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)", \
     $run15 using 1:2 with linespoints ls 16 title "dpsgd, dirichlet α 0.1", \
     $run16 using 1:2 with linespoints ls 17 title "gradient-tracking, dirichlet α 0.1", \
     $run17 using 1:2 with linespoints ls 18 title "relaysgd, dirichlet α 0.1 (a0.1-relaysgd-corr)", \
     $run18 using 1:2 with linespoints ls 19 title "relaysgd, dirichlet α 0.1, 1% messages dropped", \
     $run19 using 1:2 with linespoints ls 20 title "relaysgd, dirichlet α 0.1, 10% messages dropped", \
     $run20 using 1:2 with linespoints ls 21 title "relaysgd, dirichlet α 0.1", \
     $run21 using 1:2 with linespoints ls 22 title "sgp, dirichlet α 0.1", \
     $run22 using 1:2 with linespoints ls 23 title "d2, dirichlet α 1", \
     $run23 using 1:2 with linespoints ls 24 title "dpsgd, dirichlet α 1 (a1-dpsgd-qgm)", \
     $run24 using 1:2 with linespoints ls 25 title "dpsgd, dirichlet α 1", \
     $run25 using 1:2 with linespoints ls 26 title "gradient-tracking, dirichlet α 1", \
     $run26 using 1:2 with linespoints ls 27 title "relaysgd, dirichlet α 1 (a1-relaysgd-corr)", \
     $run27 using 1:2 with linespoints ls 28 title "relaysgd, dirichlet α 1", \
     $run28 using 1:2 with linespoints ls 29 title "sgp, dirichlet α 1", \
     $run29 using 1:2 with linespoints ls 30 title "allreduce, iid"
set terminal svg size 1280,1370 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-epoch.svg'; replot; unset output

# accuracy-mb
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 30
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set logscale x 10; set format x '%g'; set mxtics 10
set title "reproduce-quick: heterogeneous\nAccuracy vs data sent: lenet5 on fashion-mnist, 16 agents, 2 epochs" font 'Sans,15'
set xlabel "data sent by all agents so far, payload + frame headers (MB, log scale)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,1370 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-mb.png'
plot $run0 using 4:2 with linespoints ls 1 title "d2, dirichlet α 0.01, 1% messages dropped", \
     $run1 using 4:2 with linespoints ls 2 title "d2, dirichlet α 0.01, 10% messages dropped", \
     $run2 using 4:2 with linespoints ls 3 title "d2, dirichlet α 0.01", \
     $run3 using 4:2 with linespoints ls 4 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)", \
     $run4 using 4:2 with linespoints ls 5 title "dpsgd, dirichlet α 0.01", \
     $run5 using 4:2 with linespoints ls 6 title "gradient-tracking, dirichlet α 0.01", \
     $run6 using 4:2 with linespoints ls 7 title "relaysgd, dirichlet α 0.01 (a0.01-relaysgd-corr)", \
     $run7 using 4:2 with linespoints ls 8 title "relaysgd, dirichlet α 0.01, 1% messages dropped", \
     $run8 using 4:2 with linespoints ls 9 title "relaysgd, dirichlet α 0.01, 10% messages dropped", \
     $run9 using 4:2 with linespoints ls 10 title "relaysgd, dirichlet α 0.01", \
     $run10 using 4:2 with linespoints ls 11 title "sgp, dirichlet α 0.01", \
     $run11 using 4:2 with linespoints ls 12 title "d2, dirichlet α 0.1, 1% messages dropped", \
     $run12 using 4:2 with linespoints ls 13 title "d2, dirichlet α 0.1, 10% messages dropped", \
     $run13 using 4:2 with linespoints ls 14 title "d2, dirichlet α 0.1", \
     $run14 using 4:2 with linespoints ls 15 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)", \
     $run15 using 4:2 with linespoints ls 16 title "dpsgd, dirichlet α 0.1", \
     $run16 using 4:2 with linespoints ls 17 title "gradient-tracking, dirichlet α 0.1", \
     $run17 using 4:2 with linespoints ls 18 title "relaysgd, dirichlet α 0.1 (a0.1-relaysgd-corr)", \
     $run18 using 4:2 with linespoints ls 19 title "relaysgd, dirichlet α 0.1, 1% messages dropped", \
     $run19 using 4:2 with linespoints ls 20 title "relaysgd, dirichlet α 0.1, 10% messages dropped", \
     $run20 using 4:2 with linespoints ls 21 title "relaysgd, dirichlet α 0.1", \
     $run21 using 4:2 with linespoints ls 22 title "sgp, dirichlet α 0.1", \
     $run22 using 4:2 with linespoints ls 23 title "d2, dirichlet α 1", \
     $run23 using 4:2 with linespoints ls 24 title "dpsgd, dirichlet α 1 (a1-dpsgd-qgm)", \
     $run24 using 4:2 with linespoints ls 25 title "dpsgd, dirichlet α 1", \
     $run25 using 4:2 with linespoints ls 26 title "gradient-tracking, dirichlet α 1", \
     $run26 using 4:2 with linespoints ls 27 title "relaysgd, dirichlet α 1 (a1-relaysgd-corr)", \
     $run27 using 4:2 with linespoints ls 28 title "relaysgd, dirichlet α 1", \
     $run28 using 4:2 with linespoints ls 29 title "sgp, dirichlet α 1", \
     $run29 using 4:2 with linespoints ls 30 title "allreduce, iid"
set terminal svg size 1280,1370 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-mb.svg'; replot; unset output

# accuracy-time
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 30
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: heterogeneous\nAccuracy vs wall-clock time: lenet5 on fashion-mnist, 16 agents, 2 epochs" font 'Sans,15'
set xlabel "wall-clock time since the start barrier (s)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,1370 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-time.png'
plot $run0 using 3:2 with linespoints ls 1 title "d2, dirichlet α 0.01, 1% messages dropped", \
     $run1 using 3:2 with linespoints ls 2 title "d2, dirichlet α 0.01, 10% messages dropped", \
     $run2 using 3:2 with linespoints ls 3 title "d2, dirichlet α 0.01", \
     $run3 using 3:2 with linespoints ls 4 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)", \
     $run4 using 3:2 with linespoints ls 5 title "dpsgd, dirichlet α 0.01", \
     $run5 using 3:2 with linespoints ls 6 title "gradient-tracking, dirichlet α 0.01", \
     $run6 using 3:2 with linespoints ls 7 title "relaysgd, dirichlet α 0.01 (a0.01-relaysgd-corr)", \
     $run7 using 3:2 with linespoints ls 8 title "relaysgd, dirichlet α 0.01, 1% messages dropped", \
     $run8 using 3:2 with linespoints ls 9 title "relaysgd, dirichlet α 0.01, 10% messages dropped", \
     $run9 using 3:2 with linespoints ls 10 title "relaysgd, dirichlet α 0.01", \
     $run10 using 3:2 with linespoints ls 11 title "sgp, dirichlet α 0.01", \
     $run11 using 3:2 with linespoints ls 12 title "d2, dirichlet α 0.1, 1% messages dropped", \
     $run12 using 3:2 with linespoints ls 13 title "d2, dirichlet α 0.1, 10% messages dropped", \
     $run13 using 3:2 with linespoints ls 14 title "d2, dirichlet α 0.1", \
     $run14 using 3:2 with linespoints ls 15 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)", \
     $run15 using 3:2 with linespoints ls 16 title "dpsgd, dirichlet α 0.1", \
     $run16 using 3:2 with linespoints ls 17 title "gradient-tracking, dirichlet α 0.1", \
     $run17 using 3:2 with linespoints ls 18 title "relaysgd, dirichlet α 0.1 (a0.1-relaysgd-corr)", \
     $run18 using 3:2 with linespoints ls 19 title "relaysgd, dirichlet α 0.1, 1% messages dropped", \
     $run19 using 3:2 with linespoints ls 20 title "relaysgd, dirichlet α 0.1, 10% messages dropped", \
     $run20 using 3:2 with linespoints ls 21 title "relaysgd, dirichlet α 0.1", \
     $run21 using 3:2 with linespoints ls 22 title "sgp, dirichlet α 0.1", \
     $run22 using 3:2 with linespoints ls 23 title "d2, dirichlet α 1", \
     $run23 using 3:2 with linespoints ls 24 title "dpsgd, dirichlet α 1 (a1-dpsgd-qgm)", \
     $run24 using 3:2 with linespoints ls 25 title "dpsgd, dirichlet α 1", \
     $run25 using 3:2 with linespoints ls 26 title "gradient-tracking, dirichlet α 1", \
     $run26 using 3:2 with linespoints ls 27 title "relaysgd, dirichlet α 1 (a1-relaysgd-corr)", \
     $run27 using 3:2 with linespoints ls 28 title "relaysgd, dirichlet α 1", \
     $run28 using 3:2 with linespoints ls 29 title "sgp, dirichlet α 1", \
     $run29 using 3:2 with linespoints ls 30 title "allreduce, iid"
set terminal svg size 1280,1370 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-time.svg'; replot; unset output

# energy: one bar per run, top to bottom in the order of REPORT.md
$energy << EOD
# y compute_J comm_J total_J label
30 0.689757 1640.71 1641.39 "d2, dirichlet α 0.01, 1% messages dropped"
29 0.689757 1640.71 1641.39 "d2, dirichlet α 0.01, 10% messages dropped"
28 0.689757 1640.71 1641.39 "d2, dirichlet α 0.01"
27 0.689757 1640.81 1641.5 "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)"
26 0.689757 1640.81 1641.5 "dpsgd, dirichlet α 0.01"
25 0.689757 3281.04 3281.73 "gradient-tracking, dirichlet α 0.01"
24 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 0.01 (a0.01-relaysgd-corr)"
23 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 0.01, 1% messages dropped"
22 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 0.01, 10% messages dropped"
21 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 0.01"
20 0.689757 820.406 821.096 "sgp, dirichlet α 0.01"
19 0.689757 1640.71 1641.39 "d2, dirichlet α 0.1, 1% messages dropped"
18 0.689757 1640.71 1641.39 "d2, dirichlet α 0.1, 10% messages dropped"
17 0.689757 1640.71 1641.39 "d2, dirichlet α 0.1"
16 0.689757 1640.81 1641.5 "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)"
15 0.689757 1640.81 1641.5 "dpsgd, dirichlet α 0.1"
14 0.689757 3281.04 3281.73 "gradient-tracking, dirichlet α 0.1"
13 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 0.1 (a0.1-relaysgd-corr)"
12 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 0.1, 1% messages dropped"
11 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 0.1, 10% messages dropped"
10 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 0.1"
9 0.689757 820.406 821.096 "sgp, dirichlet α 0.1"
8 0.689757 1640.71 1641.39 "d2, dirichlet α 1"
7 0.689757 1640.81 1641.5 "dpsgd, dirichlet α 1 (a1-dpsgd-qgm)"
6 0.689757 1640.81 1641.5 "dpsgd, dirichlet α 1"
5 0.689757 3281.04 3281.73 "gradient-tracking, dirichlet α 1"
4 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 1 (a1-relaysgd-corr)"
3 0.689757 1538.56 1539.25 "relaysgd, dirichlet α 1"
2 0.689757 820.406 821.096 "sgp, dirichlet α 1"
1 0.689757 1543.39 1544.08 "allreduce, iid"
EOD
set terminal pngcairo size 1280,2380 font 'Sans,13' noenhanced linewidth 1.3
set output 'energy.png'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: heterogeneous\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 16 agents, 2 epochs" font 'Sans,15'
set tmargin at screen 0.9601; set bmargin at screen 0.0630
set lmargin at screen 0.3563; set rmargin at screen 0.6797
set yrange [0.4:30.6]; set xrange [0:4266.25]
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
set terminal svg size 1280,2380 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'energy.svg'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: heterogeneous\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 16 agents, 2 epochs" font 'Sans,15'
set tmargin at screen 0.9601; set bmargin at screen 0.0630
set lmargin at screen 0.3563; set rmargin at screen 0.6797
set yrange [0.4:30.6]; set xrange [0:4266.25]
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

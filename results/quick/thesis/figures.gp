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

# results/quick/runs/thesis/a0.01-ccl-seed1: ccl, λm 0.1, λd 0.1, dirichlet α 0.01 (a0.01-ccl)
$run0 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 47.8569 13.2083 935.064
2 65.6088 24.6974 1870.13
3 75.3762 38.1766 2805.2
EOD

# results/quick/runs/thesis/a0.01-ccl-seed2: ccl, λm 0.1, λd 0.1, dirichlet α 0.01
$run1 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 54.3956 13.1065 935.312
2 74.2562 26.6022 1870.61
3 80.7369 38.0025 2805.92
EOD

# results/quick/runs/thesis/a0.01-dpsgd-qgm-seed1: dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm) [a0.01-dpsgd-qgm-seed1]
$run2 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 43.6275 9.99966 932.279
2 62.4494 23.7036 1864.56
3 74.4481 29.3403 2796.84
EOD

# results/quick/runs/thesis/a0.01-dpsgd-qgm-seed2: dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)
$run3 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 41.8894 10.1091 932.279
2 68.1281 19.0459 1864.56
3 76.2831 24.1895 2796.84
EOD

# results/quick/runs/thesis/a0.01-dpsgd-seed1: dpsgd, dirichlet α 0.01 (a0.01-dpsgd)
$run4 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 34.2431 10.0314 932.279
2 48.3556 22.0456 1864.56
3 60.2675 30.8999 2796.84
EOD

# results/quick/runs/thesis/a0.01-dpsgd-seed2: dpsgd, dirichlet α 0.01
$run5 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 27.6137 10.2727 932.279
2 54.9113 17.7846 1864.56
3 64.7963 28.0052 2796.84
EOD

# results/quick/runs/thesis/a0.01-gut-seed1: gut μ 0.9, dirichlet α 0.01 (a0.01-gut)
$run6 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 42.7788 6.84276 932.279
2 69.0706 19.5827 1864.56
3 72.0538 28.1605 2796.84
EOD

# results/quick/runs/thesis/a0.01-gut-seed2: gut μ 0.9, dirichlet α 0.01
$run7 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 48.4119 8.65634 932.279
2 67.5625 15.7614 1864.56
3 70.2388 21.699 2796.84
EOD

# results/quick/runs/thesis/a0.01-ngm-seed1: ngm, γ 0.1, α 1, dirichlet α 0.01 (a0.01-ngm)
$run8 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 34.4006 18.7911 1872.46
2 41.7494 35.92 3737.02
3 45.6450 54.2238 5601.58
EOD

# results/quick/runs/thesis/a0.01-ngm-seed2: ngm, γ 0.1, α 1, dirichlet α 0.01
$run9 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 33.1375 18.7235 1872.46
2 45.7300 35.788 3737.02
3 52.1500 54.0475 5601.58
EOD

# results/quick/runs/thesis/a0.01-qg-gut-seed1: qg-gut μ 0.01, dirichlet α 0.01 (a0.01-qg-gut)
$run10 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 46.9044 8.69184 932.279
2 69.5725 18.7482 1864.56
3 77.2112 29.1807 2796.84
EOD

# results/quick/runs/thesis/a0.01-qg-gut-seed2: qg-gut μ 0.01, dirichlet α 0.01
$run11 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 55.6350 8.86629 932.279
2 74.6575 20.0862 1864.56
3 79.3344 29.349 2796.84
EOD

# results/quick/runs/thesis/a0.01-relaysgd-seed1: relaysgd, dirichlet α 0.01 (a0.01-relaysgd)
$run12 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 70.7812 7.02084 874.182
2 78.9763 23.4587 1748.36
3 79.3625 33.2629 2622.55
EOD

# results/quick/runs/thesis/a0.01-relaysgd-seed2: relaysgd, dirichlet α 0.01
$run13 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 68.4225 9.05298 874.182
2 78.8931 14.4131 1748.36
3 79.9525 24.0932 2622.55
EOD

# results/quick/runs/thesis/a0.1-ccl-seed1: ccl, λm 0.1, λd 0.1, dirichlet α 0.1 (a0.1-ccl)
$run14 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 65.8050 11.3795 937.339
2 79.9869 24.2461 1874.67
3 83.8150 37.3283 2812
EOD

# results/quick/runs/thesis/a0.1-ccl-seed2: ccl, λm 0.1, λd 0.1, dirichlet α 0.1
$run15 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 68.6619 11.121 937.516
2 83.3469 22.3205 1875.02
3 85.5044 34.3458 2812.52
EOD

# results/quick/runs/thesis/a0.1-dpsgd-qgm-seed1: dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm) [a0.1-dpsgd-qgm-seed1]
$run16 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 61.1481 8.10662 932.279
2 75.6806 18.0356 1864.56
3 80.0081 25.9597 2796.84
EOD

# results/quick/runs/thesis/a0.1-dpsgd-qgm-seed2: dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)
$run17 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 53.4156 7.87746 932.279
2 76.2031 15.3214 1864.56
3 82.1969 21.9678 2796.84
EOD

# results/quick/runs/thesis/a0.1-dpsgd-seed1: dpsgd, dirichlet α 0.1 (a0.1-dpsgd)
$run18 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 46.4394 8.20151 932.279
2 65.6050 16.9232 1864.56
3 71.3762 25.9397 2796.84
EOD

# results/quick/runs/thesis/a0.1-dpsgd-seed2: dpsgd, dirichlet α 0.1
$run19 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 42.7769 8.17024 932.279
2 65.2869 19.0292 1864.56
3 70.2194 26.0978 2796.84
EOD

# results/quick/runs/thesis/a0.1-gut-seed1: gut μ 0.9, dirichlet α 0.1 (a0.1-gut)
$run20 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 53.9175 7.65786 932.279
2 71.9781 15.7061 1864.56
3 73.6731 24.6948 2796.84
EOD

# results/quick/runs/thesis/a0.1-gut-seed2: gut μ 0.9, dirichlet α 0.1
$run21 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 54.0956 7.70038 932.279
2 71.3481 16.9212 1864.56
3 71.9231 24.8271 2796.84
EOD

# results/quick/runs/thesis/a0.1-ngm-seed1: ngm, γ 0.1, α 1, dirichlet α 0.1 (a0.1-ngm)
$run22 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 48.7475 15.8392 1872.46
2 59.9519 36.4721 3737.02
3 64.4638 52.2997 5601.58
EOD

# results/quick/runs/thesis/a0.1-ngm-seed2: ngm, γ 0.1, α 1, dirichlet α 0.1
$run23 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 49.0900 16.043 1872.46
2 60.8056 28.4753 3737.02
3 67.0394 45.368 5601.58
EOD

# results/quick/runs/thesis/a0.1-qg-gut-seed1: qg-gut μ 0.01, dirichlet α 0.1 (a0.1-qg-gut)
$run24 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 71.2525 8.34756 932.279
2 82.2050 23.1275 1864.56
3 84.6781 27.8803 2796.84
EOD

# results/quick/runs/thesis/a0.1-qg-gut-seed2: qg-gut μ 0.01, dirichlet α 0.1
$run25 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 71.9094 8.60603 932.279
2 84.4969 17.1036 1864.56
3 85.2994 26.1675 2796.84
EOD

# results/quick/runs/thesis/a0.1-relaysgd-seed1: relaysgd, dirichlet α 0.1 (a0.1-relaysgd)
$run26 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 73.4094 8.71157 874.182
2 80.9650 17.6636 1748.36
3 81.5144 27.8773 2622.55
EOD

# results/quick/runs/thesis/a0.1-relaysgd-seed2: relaysgd, dirichlet α 0.1
$run27 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 75.9094 8.55768 874.182
2 83.1812 18.25 1748.36
3 83.7875 27.3582 2622.55
EOD

# accuracy-epoch
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 28
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: thesis\nAccuracy vs epoch: lenet5 on fashion-mnist, 16 agents, 3 epochs" font 'Sans,15'
set xlabel "epoch (passes over each agent's partition)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,1320 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-epoch.png'
plot $run0 using 1:2 with linespoints ls 1 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.01 (a0.01-ccl)", \
     $run1 using 1:2 with linespoints ls 2 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.01", \
     $run2 using 1:2 with linespoints ls 3 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm) [a0.01-dpsgd-qgm-seed1]", \
     $run3 using 1:2 with linespoints ls 4 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)", \
     $run4 using 1:2 with linespoints ls 5 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd)", \
     $run5 using 1:2 with linespoints ls 6 title "dpsgd, dirichlet α 0.01", \
     $run6 using 1:2 with linespoints ls 7 title "gut μ 0.9, dirichlet α 0.01 (a0.01-gut)", \
     $run7 using 1:2 with linespoints ls 8 title "gut μ 0.9, dirichlet α 0.01", \
     $run8 using 1:2 with linespoints ls 9 title "ngm, γ 0.1, α 1, dirichlet α 0.01 (a0.01-ngm)", \
     $run9 using 1:2 with linespoints ls 10 title "ngm, γ 0.1, α 1, dirichlet α 0.01", \
     $run10 using 1:2 with linespoints ls 11 title "qg-gut μ 0.01, dirichlet α 0.01 (a0.01-qg-gut)", \
     $run11 using 1:2 with linespoints ls 12 title "qg-gut μ 0.01, dirichlet α 0.01", \
     $run12 using 1:2 with linespoints ls 13 title "relaysgd, dirichlet α 0.01 (a0.01-relaysgd)", \
     $run13 using 1:2 with linespoints ls 14 title "relaysgd, dirichlet α 0.01", \
     $run14 using 1:2 with linespoints ls 15 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.1 (a0.1-ccl)", \
     $run15 using 1:2 with linespoints ls 16 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.1", \
     $run16 using 1:2 with linespoints ls 17 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm) [a0.1-dpsgd-qgm-seed1]", \
     $run17 using 1:2 with linespoints ls 18 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)", \
     $run18 using 1:2 with linespoints ls 19 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd)", \
     $run19 using 1:2 with linespoints ls 20 title "dpsgd, dirichlet α 0.1", \
     $run20 using 1:2 with linespoints ls 21 title "gut μ 0.9, dirichlet α 0.1 (a0.1-gut)", \
     $run21 using 1:2 with linespoints ls 22 title "gut μ 0.9, dirichlet α 0.1", \
     $run22 using 1:2 with linespoints ls 23 title "ngm, γ 0.1, α 1, dirichlet α 0.1 (a0.1-ngm)", \
     $run23 using 1:2 with linespoints ls 24 title "ngm, γ 0.1, α 1, dirichlet α 0.1", \
     $run24 using 1:2 with linespoints ls 25 title "qg-gut μ 0.01, dirichlet α 0.1 (a0.1-qg-gut)", \
     $run25 using 1:2 with linespoints ls 26 title "qg-gut μ 0.01, dirichlet α 0.1", \
     $run26 using 1:2 with linespoints ls 27 title "relaysgd, dirichlet α 0.1 (a0.1-relaysgd)", \
     $run27 using 1:2 with linespoints ls 28 title "relaysgd, dirichlet α 0.1"
set terminal svg size 1280,1320 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-epoch.svg'; replot; unset output

# accuracy-mb
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 28
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set logscale x 10; set format x '%g'; set mxtics 10
set title "reproduce-quick: thesis\nAccuracy vs data sent: lenet5 on fashion-mnist, 16 agents, 3 epochs" font 'Sans,15'
set xlabel "data sent by all agents so far, payload + frame headers (MB, log scale)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,1320 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-mb.png'
plot $run0 using 4:2 with linespoints ls 1 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.01 (a0.01-ccl)", \
     $run1 using 4:2 with linespoints ls 2 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.01", \
     $run2 using 4:2 with linespoints ls 3 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm) [a0.01-dpsgd-qgm-seed1]", \
     $run3 using 4:2 with linespoints ls 4 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)", \
     $run4 using 4:2 with linespoints ls 5 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd)", \
     $run5 using 4:2 with linespoints ls 6 title "dpsgd, dirichlet α 0.01", \
     $run6 using 4:2 with linespoints ls 7 title "gut μ 0.9, dirichlet α 0.01 (a0.01-gut)", \
     $run7 using 4:2 with linespoints ls 8 title "gut μ 0.9, dirichlet α 0.01", \
     $run8 using 4:2 with linespoints ls 9 title "ngm, γ 0.1, α 1, dirichlet α 0.01 (a0.01-ngm)", \
     $run9 using 4:2 with linespoints ls 10 title "ngm, γ 0.1, α 1, dirichlet α 0.01", \
     $run10 using 4:2 with linespoints ls 11 title "qg-gut μ 0.01, dirichlet α 0.01 (a0.01-qg-gut)", \
     $run11 using 4:2 with linespoints ls 12 title "qg-gut μ 0.01, dirichlet α 0.01", \
     $run12 using 4:2 with linespoints ls 13 title "relaysgd, dirichlet α 0.01 (a0.01-relaysgd)", \
     $run13 using 4:2 with linespoints ls 14 title "relaysgd, dirichlet α 0.01", \
     $run14 using 4:2 with linespoints ls 15 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.1 (a0.1-ccl)", \
     $run15 using 4:2 with linespoints ls 16 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.1", \
     $run16 using 4:2 with linespoints ls 17 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm) [a0.1-dpsgd-qgm-seed1]", \
     $run17 using 4:2 with linespoints ls 18 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)", \
     $run18 using 4:2 with linespoints ls 19 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd)", \
     $run19 using 4:2 with linespoints ls 20 title "dpsgd, dirichlet α 0.1", \
     $run20 using 4:2 with linespoints ls 21 title "gut μ 0.9, dirichlet α 0.1 (a0.1-gut)", \
     $run21 using 4:2 with linespoints ls 22 title "gut μ 0.9, dirichlet α 0.1", \
     $run22 using 4:2 with linespoints ls 23 title "ngm, γ 0.1, α 1, dirichlet α 0.1 (a0.1-ngm)", \
     $run23 using 4:2 with linespoints ls 24 title "ngm, γ 0.1, α 1, dirichlet α 0.1", \
     $run24 using 4:2 with linespoints ls 25 title "qg-gut μ 0.01, dirichlet α 0.1 (a0.1-qg-gut)", \
     $run25 using 4:2 with linespoints ls 26 title "qg-gut μ 0.01, dirichlet α 0.1", \
     $run26 using 4:2 with linespoints ls 27 title "relaysgd, dirichlet α 0.1 (a0.1-relaysgd)", \
     $run27 using 4:2 with linespoints ls 28 title "relaysgd, dirichlet α 0.1"
set terminal svg size 1280,1320 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-mb.svg'; replot; unset output

# accuracy-time
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 28
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: thesis\nAccuracy vs wall-clock time: lenet5 on fashion-mnist, 16 agents, 3 epochs" font 'Sans,15'
set xlabel "wall-clock time since the start barrier (s)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,1320 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-time.png'
plot $run0 using 3:2 with linespoints ls 1 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.01 (a0.01-ccl)", \
     $run1 using 3:2 with linespoints ls 2 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.01", \
     $run2 using 3:2 with linespoints ls 3 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm) [a0.01-dpsgd-qgm-seed1]", \
     $run3 using 3:2 with linespoints ls 4 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)", \
     $run4 using 3:2 with linespoints ls 5 title "dpsgd, dirichlet α 0.01 (a0.01-dpsgd)", \
     $run5 using 3:2 with linespoints ls 6 title "dpsgd, dirichlet α 0.01", \
     $run6 using 3:2 with linespoints ls 7 title "gut μ 0.9, dirichlet α 0.01 (a0.01-gut)", \
     $run7 using 3:2 with linespoints ls 8 title "gut μ 0.9, dirichlet α 0.01", \
     $run8 using 3:2 with linespoints ls 9 title "ngm, γ 0.1, α 1, dirichlet α 0.01 (a0.01-ngm)", \
     $run9 using 3:2 with linespoints ls 10 title "ngm, γ 0.1, α 1, dirichlet α 0.01", \
     $run10 using 3:2 with linespoints ls 11 title "qg-gut μ 0.01, dirichlet α 0.01 (a0.01-qg-gut)", \
     $run11 using 3:2 with linespoints ls 12 title "qg-gut μ 0.01, dirichlet α 0.01", \
     $run12 using 3:2 with linespoints ls 13 title "relaysgd, dirichlet α 0.01 (a0.01-relaysgd)", \
     $run13 using 3:2 with linespoints ls 14 title "relaysgd, dirichlet α 0.01", \
     $run14 using 3:2 with linespoints ls 15 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.1 (a0.1-ccl)", \
     $run15 using 3:2 with linespoints ls 16 title "ccl, λm 0.1, λd 0.1, dirichlet α 0.1", \
     $run16 using 3:2 with linespoints ls 17 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm) [a0.1-dpsgd-qgm-seed1]", \
     $run17 using 3:2 with linespoints ls 18 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)", \
     $run18 using 3:2 with linespoints ls 19 title "dpsgd, dirichlet α 0.1 (a0.1-dpsgd)", \
     $run19 using 3:2 with linespoints ls 20 title "dpsgd, dirichlet α 0.1", \
     $run20 using 3:2 with linespoints ls 21 title "gut μ 0.9, dirichlet α 0.1 (a0.1-gut)", \
     $run21 using 3:2 with linespoints ls 22 title "gut μ 0.9, dirichlet α 0.1", \
     $run22 using 3:2 with linespoints ls 23 title "ngm, γ 0.1, α 1, dirichlet α 0.1 (a0.1-ngm)", \
     $run23 using 3:2 with linespoints ls 24 title "ngm, γ 0.1, α 1, dirichlet α 0.1", \
     $run24 using 3:2 with linespoints ls 25 title "qg-gut μ 0.01, dirichlet α 0.1 (a0.1-qg-gut)", \
     $run25 using 3:2 with linespoints ls 26 title "qg-gut μ 0.01, dirichlet α 0.1", \
     $run26 using 3:2 with linespoints ls 27 title "relaysgd, dirichlet α 0.1 (a0.1-relaysgd)", \
     $run27 using 3:2 with linespoints ls 28 title "relaysgd, dirichlet α 0.1"
set terminal svg size 1280,1320 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-time.svg'; replot; unset output

# energy: one bar per run, top to bottom in the order of REPORT.md
$energy << EOD
# y compute_J comm_J total_J label
28 1.03464 2468.57 2469.61 "ccl, λm 0.1, λd 0.1, dirichlet α 0.01 (a0.01-ccl)"
27 1.03464 2469.21 2470.24 "ccl, λm 0.1, λd 0.1, dirichlet α 0.01"
26 1.03464 2461.22 2462.25 "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm) [a0.01-dpsgd-qgm-seed1]"
25 1.03464 2461.22 2462.25 "dpsgd, dirichlet α 0.01 (a0.01-dpsgd-qgm)"
24 1.03464 2461.22 2462.25 "dpsgd, dirichlet α 0.01 (a0.01-dpsgd)"
23 1.03464 2461.22 2462.25 "dpsgd, dirichlet α 0.01"
22 1.03464 2461.22 2462.25 "gut μ 0.9, dirichlet α 0.01 (a0.01-gut)"
21 1.03464 2461.22 2462.25 "gut μ 0.9, dirichlet α 0.01"
20 3.10391 4929.39 4932.49 "ngm, γ 0.1, α 1, dirichlet α 0.01 (a0.01-ngm)"
19 3.10391 4929.39 4932.49 "ngm, γ 0.1, α 1, dirichlet α 0.01"
18 1.03464 2461.22 2462.25 "qg-gut μ 0.01, dirichlet α 0.01 (a0.01-qg-gut)"
17 1.03464 2461.22 2462.25 "qg-gut μ 0.01, dirichlet α 0.01"
16 1.03464 2307.84 2308.87 "relaysgd, dirichlet α 0.01 (a0.01-relaysgd)"
15 1.03464 2307.84 2308.87 "relaysgd, dirichlet α 0.01"
14 1.03464 2474.56 2475.59 "ccl, λm 0.1, λd 0.1, dirichlet α 0.1 (a0.1-ccl)"
13 1.03464 2475.02 2476.05 "ccl, λm 0.1, λd 0.1, dirichlet α 0.1"
12 1.03464 2461.22 2462.25 "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm) [a0.1-dpsgd-qgm-seed1]"
11 1.03464 2461.22 2462.25 "dpsgd, dirichlet α 0.1 (a0.1-dpsgd-qgm)"
10 1.03464 2461.22 2462.25 "dpsgd, dirichlet α 0.1 (a0.1-dpsgd)"
9 1.03464 2461.22 2462.25 "dpsgd, dirichlet α 0.1"
8 1.03464 2461.22 2462.25 "gut μ 0.9, dirichlet α 0.1 (a0.1-gut)"
7 1.03464 2461.22 2462.25 "gut μ 0.9, dirichlet α 0.1"
6 3.10391 4929.39 4932.49 "ngm, γ 0.1, α 1, dirichlet α 0.1 (a0.1-ngm)"
5 3.10391 4929.39 4932.49 "ngm, γ 0.1, α 1, dirichlet α 0.1"
4 1.03464 2461.22 2462.25 "qg-gut μ 0.01, dirichlet α 0.1 (a0.1-qg-gut)"
3 1.03464 2461.22 2462.25 "qg-gut μ 0.01, dirichlet α 0.1"
2 1.03464 2307.84 2308.87 "relaysgd, dirichlet α 0.1 (a0.1-relaysgd)"
1 1.03464 2307.84 2308.87 "relaysgd, dirichlet α 0.1"
EOD
set terminal pngcairo size 1419,2240 font 'Sans,13' noenhanced linewidth 1.3
set output 'energy.png'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: thesis\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 16 agents, 3 epochs" font 'Sans,15'
set tmargin at screen 0.9576; set bmargin at screen 0.0670
set lmargin at screen 0.4292; set rmargin at screen 0.7111
set yrange [0.4:28.6]; set xrange [0:6412.24]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7477; set rmargin at screen 0.9732; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'
set terminal svg size 1419,2240 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'energy.svg'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: thesis\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 16 agents, 3 epochs" font 'Sans,15'
set tmargin at screen 0.9576; set bmargin at screen 0.0670
set lmargin at screen 0.4292; set rmargin at screen 0.7111
set yrange [0.4:28.6]; set xrange [0:6412.24]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7477; set rmargin at screen 0.9732; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'

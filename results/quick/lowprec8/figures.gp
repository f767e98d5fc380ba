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

# /work/lp-out/runs/lowprec8/lp8-iid-choco-dense-seed1: choco 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds
$run0 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 77.9850 19.5472 116.507
2 85.9900 39.8163 233.015
3 87.7650 57.1657 374.311
EOD

# /work/lp-out/runs/lowprec8/lp8-iid-choco-topk-seed1: choco top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds
$run1 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 74.6225 20.7978 2.7797
2 84.0550 40.6892 5.55984
3 86.1425 57.4915 8.92601
EOD

# /work/lp-out/runs/lowprec8/lp8-iid-ds-dense-seed1: deepsqueeze 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds
$run2 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 78.6600 9.87432 116.507
2 86.0875 17.0059 233.015
3 87.8000 22.9939 374.311
EOD

# /work/lp-out/runs/lowprec8/lp8-iid-ds-topk-seed1: deepsqueeze top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds
$run3 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 75.5250 10.7504 2.77285
2 83.6700 17.6855 5.54573
3 85.7525 23.2425 8.90858
EOD

# /work/lp-out/runs/lowprec8/lp8-skew-choco-dense-seed1: choco 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds
$run4 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 69.3625 9.17662 116.507
2 75.6625 20.331 233.015
3 84.9925 30.2111 374.311
EOD

# /work/lp-out/runs/lowprec8/lp8-skew-choco-topk-seed1: choco top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds
$run5 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 60.4625 11.1747 2.77982
2 70.5625 22.8314 5.56082
3 78.5000 30.4211 8.92735
EOD

# /work/lp-out/runs/lowprec8/lp8-skew-ds-dense-seed1: deepsqueeze 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds
$run6 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 70.9300 6.82245 116.507
2 76.1100 14.4704 233.015
3 85.7750 24.9808 374.311
EOD

# /work/lp-out/runs/lowprec8/lp8-skew-ds-topk-seed1: deepsqueeze top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds
$run7 << EOD
# epoch acc_mean_pct t_s cumulative_MB
1 62.3375 9.52445 2.77282
2 69.3575 16.507 5.54552
3 77.1325 25.4525 8.9082
EOD

# accuracy-epoch
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 8
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: lowprec8\nAccuracy vs epoch: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set xlabel "epoch (passes over each agent's partition)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,820 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-epoch.png'
plot $run0 using 1:2 with linespoints ls 1 title "choco 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds", \
     $run1 using 1:2 with linespoints ls 2 title "choco top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds", \
     $run2 using 1:2 with linespoints ls 3 title "deepsqueeze 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds", \
     $run3 using 1:2 with linespoints ls 4 title "deepsqueeze top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds", \
     $run4 using 1:2 with linespoints ls 5 title "choco 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds", \
     $run5 using 1:2 with linespoints ls 6 title "choco top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds", \
     $run6 using 1:2 with linespoints ls 7 title "deepsqueeze 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds", \
     $run7 using 1:2 with linespoints ls 8 title "deepsqueeze top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds"
set terminal svg size 1280,820 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-epoch.svg'; replot; unset output

# accuracy-mb
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 8
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set logscale x 10; set format x '%g'; set mxtics 10
set title "reproduce-quick: lowprec8\nAccuracy vs data sent: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set xlabel "data sent by all agents so far, payload + frame headers (MB, log scale)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,820 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-mb.png'
plot $run0 using 4:2 with linespoints ls 1 title "choco 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds", \
     $run1 using 4:2 with linespoints ls 2 title "choco top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds", \
     $run2 using 4:2 with linespoints ls 3 title "deepsqueeze 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds", \
     $run3 using 4:2 with linespoints ls 4 title "deepsqueeze top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds", \
     $run4 using 4:2 with linespoints ls 5 title "choco 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds", \
     $run5 using 4:2 with linespoints ls 6 title "choco top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds", \
     $run6 using 4:2 with linespoints ls 7 title "deepsqueeze 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds", \
     $run7 using 4:2 with linespoints ls 8 title "deepsqueeze top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds"
set terminal svg size 1280,820 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-mb.svg'; replot; unset output

# accuracy-time
unset logscale; set autoscale; set format x '%g'; set ytics auto; set grid
set key outside below left vertical Left reverse samplen 3 spacing 1.15 height 1 maxrows 8
set offsets graph 0.02, graph 0.02, graph 0.06, graph 0.06
set offsets 0, graph 0.02, graph 0.06, graph 0.06; set xrange [0:*]
set title "reproduce-quick: lowprec8\nAccuracy vs wall-clock time: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set xlabel "wall-clock time since the start barrier (s)"
set ylabel 'test accuracy, mean over agents (%)'
set terminal pngcairo size 1280,820 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-time.png'
plot $run0 using 3:2 with linespoints ls 1 title "choco 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds", \
     $run1 using 3:2 with linespoints ls 2 title "choco top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds", \
     $run2 using 3:2 with linespoints ls 3 title "deepsqueeze 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds", \
     $run3 using 3:2 with linespoints ls 4 title "deepsqueeze top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds", \
     $run4 using 3:2 with linespoints ls 5 title "choco 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds", \
     $run5 using 3:2 with linespoints ls 6 title "choco top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds", \
     $run6 using 3:2 with linespoints ls 7 title "deepsqueeze 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds", \
     $run7 using 3:2 with linespoints ls 8 title "deepsqueeze top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds"
set terminal svg size 1280,820 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-time.svg'; replot; unset output

# energy: one bar per run, top to bottom in the order of REPORT.md
$energy << EOD
# y compute_J comm_J total_J label
8 0.379366 329.394 329.773 "choco 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds"
7 0.379366 7.85489 8.23426 "choco top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds"
6 0.379366 329.394 329.773 "deepsqueeze 8-bit, γ 1, 8-bit training, +50 training-codec consensus rounds"
5 0.379366 7.83955 8.21892 "deepsqueeze top-k 1% 8-bit, γ 0.01, 8-bit training, +50 training-codec consensus rounds"
4 0.379366 329.394 329.773 "choco 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds"
3 0.379366 7.85607 8.23543 "choco top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds"
2 0.379366 329.394 329.773 "deepsqueeze 8-bit, γ 1, label skew 0.8, 8-bit training, +50 training-codec consensus rounds"
1 0.379366 7.83922 8.21858 "deepsqueeze top-k 1% 8-bit, γ 0.01, label skew 0.8, 8-bit training, +50 training-codec consensus rounds"
EOD
set terminal pngcairo size 1761,840 font 'Sans,13' noenhanced linewidth 1.3
set output 'energy.png'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: lowprec8\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set tmargin at screen 0.8869; set bmargin at screen 0.1786
set lmargin at screen 0.5400; set rmargin at screen 0.7672
set yrange [0.4:8.6]; set xrange [0:428.705]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7967; set rmargin at screen 0.9784; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'
set terminal svg size 1761,840 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'energy.svg'
unset logscale; set autoscale; unset offsets; set format x '%g'; set grid xtics noytics; unset mxtics; unset title
set style fill solid 0.9 border lc rgb '#333333'
set multiplot title "reproduce-quick: lowprec8\nEstimated energy per run, summed over agents: lenet5 on fashion-mnist, 8 agents, 3 epochs" font 'Sans,15'
set tmargin at screen 0.8869; set bmargin at screen 0.1786
set lmargin at screen 0.5400; set rmargin at screen 0.7672
set yrange [0.4:8.6]; set xrange [0:428.705]
set ytics scale 0
unset ylabel
set xlabel 'energy (J), an estimate (summary.json energy_j)'
set key at screen 0.5, screen 0.012 center bottom horizontal samplen 2
plot $energy using ($2/2):1:($2/2):(0.32):ytic(5) with boxxyerror lc rgb '#0072B2' title 'compute', \
     '' using ($2+$3/2):1:($3/2):(0.32) with boxxyerror lc rgb '#E69F00' title 'communication', \
     '' using 4:1:(sprintf('  %.3g J', $4)) with labels left font 'Sans,12' notitle
set lmargin at screen 0.7967; set rmargin at screen 0.9784; set xrange [0:100]; set xtics 0, 25, 100
set ytics 1 scale 0 format ''
set xlabel "share of the run's energy (%)"
unset key
plot $energy using (50*$2/$4):1:(50*$2/$4):(0.32) with boxxyerror lc rgb '#0072B2' notitle, \
     '' using (100*$2/$4+50*$3/$4):1:(50*$3/$4):(0.32) with boxxyerror lc rgb '#E69F00' notitle
unset multiplot; unset output
set xtics autofreq; set ytics autofreq; set format y '%g'

# accuracy (mean over agents, error bar: half the range between seeds) against the Dirichlet alpha;
# written by analysis/scripts/thesis_claims.py; re-render with `gnuplot accuracy-alpha.gp`
set encoding utf8
set style line 1 lc rgb '#000000' lw 2 pt 7 ps 1.4
set style line 2 lc rgb '#D55E00' lw 2 pt 5 ps 1.4
set style line 3 lc rgb '#0072B2' lw 2 pt 9 ps 1.4
set style line 4 lc rgb '#009E73' lw 2 pt 12 ps 1.4
set style line 5 lc rgb '#CC79A7' lw 2 pt 4 ps 1.4
set style line 6 lc rgb '#E69F00' lw 2 pt 6 ps 1.4
set style line 7 lc rgb '#56B4E9' lw 2 pt 13 ps 1.4
$s0 << EOD
0.1 70.7978 0.5784
0.01 62.5319 2.2644
EOD
$s1 << EOD
0.1 81.1025 1.0944
0.01 75.3656 0.9175
EOD
$s2 << EOD
0.1 82.6509 1.1366
0.01 79.6575 0.2950
EOD
$s3 << EOD
0.1 65.7516 1.2878
0.01 48.8975 3.2525
EOD
$s4 << EOD
0.1 72.7981 0.8750
0.01 71.1463 0.9075
EOD
$s5 << EOD
0.1 84.9888 0.3106
0.01 78.2728 1.0616
EOD
$s6 << EOD
0.1 84.6597 0.8447
0.01 78.0566 2.6803
EOD
set logscale x
set xrange [0.14:0.007]
set xtics ('0.1' 0.1, '0.01' 0.01)
set xlabel 'Dirichlet alpha (more heterogeneous to the right)'
set ylabel 'test accuracy, mean over agents (%)'
set key outside right
set grid
set title 'Fashion-MNIST, LeNet-5, 16-agent ring: the thesis methods against heterogeneity' noenhanced
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-alpha.png'
plot $s0 using 1:2:3 with yerrorlines ls 1 title 'D-PSGD', \
     $s1 using 1:2:3 with yerrorlines ls 2 title 'D-PSGD + quasi-global momentum, Nesterov', \
     $s2 using 1:2:3 with yerrorlines ls 3 title 'RelaySGD + local momentum', \
     $s3 using 1:2:3 with yerrorlines ls 4 title 'NGM', \
     $s4 using 1:2:3 with yerrorlines ls 5 title 'GUT', \
     $s5 using 1:2:3 with yerrorlines ls 6 title 'QG-GUTm', \
     $s6 using 1:2:3 with yerrorlines ls 7 title 'CCL'
unset output
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-alpha.svg'; replot; unset output

# accuracy (worst worker) against the Dirichlet alpha, written by analysis/scripts/claims.py; re-render with `gnuplot accuracy-alpha.gp`
set encoding utf8
set style line 1 lc rgb '#000000' lw 2 pt 7 ps 1.4
set style line 2 lc rgb '#D55E00' lw 2 pt 5 ps 1.4
set style line 3 lc rgb '#0072B2' lw 2 pt 9 ps 1.4
set style line 4 lc rgb '#009E73' lw 2 pt 12 ps 1.4
set style line 5 lc rgb '#CC79A7' lw 2 pt 4 ps 1.4
set style line 6 lc rgb '#E69F00' lw 2 pt 6 ps 1.4
set style line 7 lc rgb '#56B4E9' lw 2 pt 13 ps 1.4
set style line 8 lc rgb '#999999' lw 2 pt 8 ps 1.4
$s0 << EOD
1 85.0200
0.1 85.0200
0.01 85.0200
EOD
$s1 << EOD
1 82.4100
0.1 81.7500
0.01 77.8500
EOD
$s2 << EOD
1 83.5200
0.1 81.7500
0.01 76.5400
EOD
$s3 << EOD
1 83.0200
0.1 79.6100
0.01 73.6200
EOD
$s4 << EOD
1 82.9400
0.1 73.9600
0.01 68.5900
EOD
$s5 << EOD
1 81.5700
0.1 75.6300
0.01 64.5200
EOD
$s6 << EOD
1 79.3700
0.1 68.6600
0.01 35.7100
EOD
$s7 << EOD
1 79.0200
0.1 67.0500
0.01 58.2000
EOD
set logscale x
set xrange [1.6:0.006]
set xlabel 'Dirichlet alpha (more heterogeneous to the right)'
set ylabel 'test accuracy, worst worker (%)'
set key bottom left
set grid
set title 'Fashion-MNIST, LeNet-5, 16 agents: accuracy against data heterogeneity' noenhanced
set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3
set output 'accuracy-alpha.png'
plot $s0 using 1:2 with linespoints ls 1 dt 3 title 'all-reduce (IID)', \
     $s1 using 1:2 with linespoints ls 2 title 'RelaySGD + local momentum', \
     $s2 using 1:2 with linespoints ls 3 title 'RelaySGD + local momentum, lr 3 x all-reduce', \
     $s3 using 1:2 with linespoints ls 4 title 'SGP + local momentum', \
     $s4 using 1:2 with linespoints ls 5 title 'D-PSGD + quasi-global momentum', \
     $s5 using 1:2 with linespoints ls 6 title 'D2 + local momentum', \
     $s6 using 1:2 with linespoints ls 7 title 'gradient tracking + local momentum', \
     $s7 using 1:2 with linespoints ls 8 title 'D-PSGD'
unset output
set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-alpha.svg'; replot; unset output

# accuracy of fp32 and 8-bit runs of the low-precision sweep; written by analysis/scripts/lowprec_claims.py;
# re-render with `gnuplot accuracy-precision.gp`
set encoding utf8
set datafile missing '-'
$d << EOD
"CHOCO dense IID" 89.24 87.765
"CHOCO 99% top-k IID" 87.1175 86.1425
"DeepSqueeze dense IID" 89.25999999999999 87.8
"DeepSqueeze 99% top-k IID" 86.68249999999999 85.7525
"CHOCO dense skew" 86.4 84.9925
"CHOCO 99% top-k skew" 78.835 78.5
"DeepSqueeze dense skew" 86.44 85.775
"DeepSqueeze 99% top-k skew" 78.0425 77.13250000000001
EOD
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30 scale 0
set yrange [50:100]
set grid ytics
set bmargin 8
set ylabel 'test accuracy, mean over agents (%)'
set key top right
set title 'Fashion-MNIST, LeNet-5, 8-agent directed ring: fp32 against 8-bit (final consensus: 50 rounds, training codec and γ)' noenhanced
set terminal pngcairo size 1280,770 font 'Sans,12' noenhanced linewidth 1.3
set output 'accuracy-precision.png'
plot $d using 2:xtic(1) title 'fp32 (EvoNorm, fp32 messages)' lc rgb '#0072B2', '' using 3 title '8-bit (Range-EvoNorm, 8-bit messages)' lc rgb '#D55E00'
unset output
set terminal svg size 1280,770 font 'Sans,12' noenhanced dynamic background rgb 'white' linewidth 1.3
set output 'accuracy-precision.svg'; replot; unset output

# SPDX-License-Identifier: GPL-2.0
# The plots of `make bench`, from the data files that scripts/bench.sh
# writes into `dir`; the PNGs go to `out`.  Run as
#   gnuplot -e "$(cat plot.vars)" bench/plot.gp
# where plot.vars (scripts/bench_report.py) sets dir, out, ymin, ymax,
# cross, nmech (mechanisms in throughput.dat), latsame and latcross (the
# mechanisms of the latency plots), polling and windows (the window plot).

if (!exists("dir")) dir = "."
if (!exists("out")) out = "."
if (!exists("cross")) cross = 1
if (!exists("ymin")) ymin = 1e3
if (!exists("ymax")) ymax = 1e8
if (!exists("nmech")) nmech = 8
if (!exists("latsame")) latsame = "bhq bhq_poll kthread_worker workqueue bh_workqueue irq_work"
if (!exists("latcross")) latcross = "bhq bhq_poll kthread_worker workqueue bh_workqueue"
if (!exists("polling")) polling = 0
if (!exists("windows")) windows = "32768 1000000"

set terminal pngcairo size 1400,600 font "DejaVu Sans,10" noenhanced
set datafile missing "NaN"
set grid

# bhq solid, the models of QEMU dashed; the same colour for the same
# mechanism in every plot.
set style line 1 lt 1 lc rgb "#7b2cbf" lw 2 pt 7
set style line 2 lt 1 lc rgb "#c77dff" lw 2 pt 5
set style line 3 dt 2 lc rgb "#e85d04" lw 2 pt 9
set style line 4 dt 2 lc rgb "#f48c06" lw 2 pt 11

# 1. Complexity: cost against N, log-log, error bars from min to max.
set output out."/complexity.png"
set multiplot layout 1,2 title "Cost against N (log-log; median of the repetitions, bars from min to max): bhq stays flat, the models of QEMU's designs grow linearly"
set logscale xy
set xrange [0.5:*]
set format x "%.0f"
set format y "%g"
set xlabel "N"
set ylabel "ns per operation"
set key outside below box opaque
set title "poll: one BH scheduled and polled while N BHs exist"
plot dir."/cx_poll_bhq.dat" using 1:2:3:4 with yerrorlines ls 1 title "bhq_poll()", \
     dir."/cx_poll_qemu2019_model.dat" using 1:2:3:4 with yerrorlines ls 3 \
	title "model of QEMU <= 4.2 aio_bh_poll(): walks every BH"
set title "timeout with N BHs pending"
plot dir."/cx_timeout_nonidle_bhq.dat" using 1:2:3:4 with yerrorlines ls 1 \
	title "bhq_compute_timeout(), one non-idle among idle", \
     dir."/cx_timeout_idle_bhq.dat" using 1:2:3:4 with yerrorlines ls 2 \
	title "bhq_compute_timeout(), all idle", \
     dir."/cx_timeout_nonidle_qemu_model.dat" using 1:2:3:4 with yerrorlines ls 3 \
	title "model of QEMU >= 5.0 aio_compute_timeout(), one non-idle (met last)", \
     dir."/cx_timeout_idle_qemu_model.dat" using 1:2:3:4 with yerrorlines ls 4 \
	title "model of QEMU >= 5.0 aio_compute_timeout(), all idle"
unset multiplot

# 2. Throughput: clustered bars per scenario, log scale.
reset
set terminal pngcairo size 1400,560 font "DejaVu Sans,10" noenhanced
set output out."/throughput.png"
set datafile missing "NaN"
set title "Throughput: dispatches per second (median of the repetitions; log scale). same: consumer on the producer's CPU; cross: on another CPU"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [ymin:ymax]
set format y "%.0e"
set ylabel "dispatches per second"
set grid ytics
set key outside right top
set xtics nomirror
plot for [i=2:nmech+1] dir."/throughput.dat" using i:xtic(1) title columnheader(i)

# 3. Latency: distribution of schedule-to-callback-start.
reset
panels = cross ? 3 : 1
set terminal pngcairo size 600 * panels,560 font "DejaVu Sans,10" noenhanced
set output out."/latency_cdf.png"
set multiplot layout 1,panels title "Schedule-to-callback-start latency: cumulative distribution of every sample of every repetition (x: log scale)"
set logscale x
set format x "%g"
set xlabel "ns"
set ylabel "fraction of samples at most x"
set yrange [0:1]
set ytics 0.1
set grid
set key bottom right box opaque
set title "same CPU, consumer asleep"
plot for [i=1:words(latsame)] dir."/lat_same_".word(latsame, i).".dat" using 1:2 with steps \
	lt i lw 2 title word(latsame, i)
if (cross) {
	set title "cross-CPU (producer on CPU A, consumer on CPU B), consumer asleep"
	plot for [i=1:words(latcross)] dir."/lat_cross_".word(latcross, i).".dat" using 1:2 \
		with steps lt i lw 2 title word(latcross, i)
	set title "cross-CPU, 10 us after the last callback (the producer spins)"
	plot for [i=1:words(latcross)] dir."/lat_cross_10us_".word(latcross, i).".dat" using 1:2 \
		with steps lt i lw 2 title word(latcross, i)
}
unset multiplot

# 4. The polling window over trickle, bursts and silence, one panel per
# largest window: the window at each sample, the largest in force since
# the sample before, and the share of that time the thread polled.
if (polling) {
	reset
	set terminal pngcairo size 1400,800 font "DejaVu Sans,10" noenhanced
	set output out."/poll_window.png"
	set multiplot layout words(windows),1 title "bhq_poll: the polling window over a changing load (background: the phase), and the share of the time the thread polled"
	set xlabel "ms"
	set ylabel "window, ns"
	set y2label "time polled, %"
	set y2range [0:105]
	set ytics nomirror
	set y2tics 0, 20, 100
	set grid
	set key outside right top box opaque
	do for [i=1:words(windows)] {
		w = word(windows, i)
		load dir."/poll_window_".w.".gp"
		set yrange [0:w * 1.1]
		set title "windows up to ".w." ns"
		plot dir."/poll_window_".w.".dat" using 1:4 axes x1y2 with impulses lc rgb "#adb5bd" \
			title "time polled since the last sample, %", \
		     "" using 1:3 with steps lc rgb "#c77dff" lw 1 \
			title "largest window in force since the last sample", \
		     "" using 1:2 with steps lc rgb "#7b2cbf" lw 2 title "window at the sample"
	}
	unset multiplot
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of bhq_torture.ko share: the main load and its checker
 * (bhq_torture_main.c) and the lifetime modes (bhq_torture_lifetime.c),
 * which run next to it and are counted in the same ops, checks and
 * violations.
 */
#ifndef _BHQ_TORTURE_H
#define _BHQ_TORTURE_H

#include <linux/types.h>

struct seq_file;

/* Reported in dmesg per kind of violation; the rest are only counted. */
#define BHQT_REPORT_MAX		10

/* bhq_torture_main.c: parameters the lifetime modes follow too. */
unsigned int bhqt_stall_ms(void);
bool bhqt_irq_producers(void);
/* ... and the switch that holds the load off while bhq's delay is on. */
void bhqt_hold_begin(void);
void bhqt_hold_end(void);
bool bhqt_held(void);

/* bhq_torture_lifetime.c */
int bhqt_life_check_params(void);
int bhqt_life_init(void);
void bhqt_life_start(void);
void bhqt_life_stop(void);
void bhqt_life_free(void);
u64 bhqt_life_ops(void);
u64 bhqt_life_checks(void);
unsigned long bhqt_life_nr_violations(void);
void bhqt_life_stats_show(struct seq_file *m);

#endif /* _BHQ_TORTURE_H */

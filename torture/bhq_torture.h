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
#define BT_REPORT_MAX		10

/* bhq_torture_main.c: parameters the lifetime modes follow too. */
unsigned int bt_stall_ms(void);
bool bt_irq_producers(void);
/* ... and the switch that holds the load off while bhq's delay is on. */
void bt_hold_begin(void);
void bt_hold_end(void);
bool bt_held(void);

/* bhq_torture_lifetime.c */
int lt_check_params(void);
int lt_init(void);
void lt_start(void);
void lt_stop(void);
void lt_free(void);
u64 lt_ops(void);
u64 lt_checks(void);
unsigned long lt_nr_violations(void);
void lt_stats_show(struct seq_file *m);

#endif /* _BHQ_TORTURE_H */

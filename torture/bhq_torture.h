/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of bhq_torture.ko share: the main load and its checker
 * (bhq_torture_main.c) and the lifetime modes (bhq_torture_lifetime.c),
 * which run next to it and are counted in the same ops, checks and
 * violations.  Documentation/torture.rst describes the test.
 */
#ifndef _BHQ_TORTURE_H
#define _BHQ_TORTURE_H

#include <linux/types.h>

struct seq_file;

/* Reported in dmesg per kind of violation; the rest are only counted. */
#define BHQT_REPORT_MAX		10

/* The parameters, bhqt_<name>: see bhq_torture_params.h. */
#define BHQT_PARAM(param, ...)		extern unsigned int bhqt_##param
#define BHQT_BOOL_PARAM(param, ...)	extern bool bhqt_##param
#include "bhq_torture_params.h"

/*
 * Mixes of operations: each draw picks one operation of a mix with the
 * probability of its weight (the weight_* parameters) among the mix's.
 */
enum bhqt_mix {
	BHQT_MIX_TARGET,	/* what a producer's operation works on */
	BHQT_MIX_FREE,		/* what it does to a free BH */
	BHQT_MIX_ORDERED,	/* what it does to an ordered BH */
	BHQT_MIX_SELF,		/* what a free BH's callback does to its BH */
	BHQT_NR_MIXES,
};

enum bhqt_target {
	BHQT_TARGET_FREE,
	BHQT_TARGET_ORDERED,
	BHQT_TARGET_ONESHOT,
};

enum bhqt_free_op {
	BHQT_FREE_SCHEDULE,
	BHQT_FREE_SCHEDULE_IDLE,
	BHQT_FREE_CANCEL,
	BHQT_FREE_DELETE,
};

/* A schedule of an ordered BH is made only if it is not armed. */
enum bhqt_ordered_op {
	BHQT_ORDERED_SCHEDULE,
	BHQT_ORDERED_SCHEDULE_IDLE,
	BHQT_ORDERED_DELETE,
};

enum bhqt_self_op {
	BHQT_SELF_NONE,
	BHQT_SELF_SCHEDULE,
	BHQT_SELF_SCHEDULE_IDLE,
	BHQT_SELF_DELETE,
};

#define BHQT_MIX_MAX_OPS	4

/* bhq_torture_main.c */
unsigned int bhqt_pick(enum bhqt_mix mix, u32 r);
/* ... and the switch that holds the load off while bhq's delay is on. */
void bhqt_hold_begin(void);
void bhqt_hold_end(void);
bool bhqt_held(void);

/* bhq_torture_lifetime.c */
int bhqt_life_init(void);
void bhqt_life_start(void);
void bhqt_life_stop(void);
void bhqt_life_free(void);
u64 bhqt_life_ops(void);
u64 bhqt_life_checks(void);
unsigned long bhqt_life_nr_violations(void);
void bhqt_life_stats_show(struct seq_file *m);

#endif /* _BHQ_TORTURE_H */

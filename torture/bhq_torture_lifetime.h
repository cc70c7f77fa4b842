/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the lifetime modes share (bhq_torture_lifetime.c) and what each
 * mode (bhq_torture_destroy.c, bhq_torture_selfdel.c, bhq_torture_manual.c)
 * gives the others.
 */
#ifndef _BHQ_TORTURE_LIFETIME_H
#define _BHQ_TORTURE_LIFETIME_H

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/prandom.h>
#include <linux/types.h>
#include <linux/wait.h>

#include "bhq_torture.h"

struct bhq_ctx;
struct file;
struct task_struct;

enum bhqt_life_stat {
	BHQT_LIFE_OPS,
	BHQT_LIFE_CHECKS,
	BHQT_LIFE_ALLOC_FAILURES,
	BHQT_LIFE_DELAY_WINDOWS,
	BHQT_DESTROY_ROUNDS,
	BHQT_DESTROY_MANUAL_ROUNDS,
	BHQT_DESTROY_SCHEDULES,
	BHQT_DESTROY_IRQ_SCHEDULES,
	BHQT_DESTROY_ONESHOTS,
	BHQT_DESTROY_RUNS,
	BHQT_DESTROY_RAN_BEFORE_RETURN,
	BHQT_DESTROY_RETURNING,
	BHQT_DESTROY_OUTLIVED,
	BHQT_DESTROY_DRAINED,
	BHQT_SELFDEL_BATCHES,
	BHQT_SELFDEL_BHS,
	BHQT_SELFDEL_IRQ_BHS,
	BHQT_SELFDEL_RAN_BEFORE_RETURN,
	BHQT_SELFDEL_FREED_BEFORE_RETURN,
	BHQT_MANUAL_ROUNDS,
	BHQT_MANUAL_SCHEDULES,
	BHQT_MANUAL_RUNS,
	BHQT_MANUAL_RUNS_BY_HELPER,
	BHQT_MANUAL_POLLS,
	BHQT_MANUAL_NESTED_POLLS,
	BHQT_MANUAL_FLUSHES,
	BHQT_MANUAL_FLUSH_WAITED,
	BHQT_MANUAL_CANCEL_SYNCS,
	BHQT_MANUAL_CANCEL_WAITED,
	BHQT_MANUAL_SELF_RESCHEDULES,
	BHQT_MANUAL_RESCHEDULES_IN_CANCEL,
	BHQT_MANUAL_DESTROY_WAITED,
	BHQT_LIFE_NR_STATS,
};

enum bhqt_life_violation {
	BHQT_LIFE_V_LOST,
	BHQT_LIFE_V_SPURIOUS,
	BHQT_LIFE_V_AFTER_DESTROY,
	BHQT_LIFE_V_LIVE,
	BHQT_LIFE_V_FLUSH,
	BHQT_LIFE_V_CANCEL_SYNC,
	BHQT_LIFE_V_DESTROY,
	BHQT_LIFE_V_MISUSE,
	BHQT_LIFE_V_STALL,
	BHQT_LIFE_NR_VIOLATIONS,
};

struct bhqt_life_counters {
	u64 v[BHQT_LIFE_NR_STATS];
};

/**
 * struct bhqt_life_state - what the modes share
 * @counters: per-CPU counters, enum bhqt_life_stat
 * @violations: per kind of violation
 * @delay_lock: serializes the delay windows of the modes
 * @delay_users: windows open
 * @delay_cur: the delay set now, in us
 * @delay_max: the longest delay set, in us
 * @delay_file: bhq's debug_publish_delay_us parameter, when it is set
 *	through sysfs
 * @delay_ok: the delay can be set
 * @misuse_ok: bhq's misuse count can be read
 * @misuse_base: the count that must not move
 * @stopping: the modes make no new round (bhqt_life_stop())
 */
struct bhqt_life_state {
	struct bhqt_life_counters __percpu *counters;
	atomic_long_t violations[BHQT_LIFE_NR_VIOLATIONS];
	struct mutex delay_lock;	/* for the delay_* fields */
	unsigned int delay_users;
	unsigned int delay_cur;
	unsigned int delay_max;
	struct file *delay_file;
	bool delay_ok;
	bool misuse_ok;
	long misuse_base;
	bool stopping;
};

extern struct bhqt_life_state bhqt_life;

static inline void bhqt_life_inc(enum bhqt_life_stat stat)
{
	this_cpu_inc(bhqt_life.counters->v[stat]);
}

static inline void bhqt_life_add(enum bhqt_life_stat stat, u64 n)
{
	this_cpu_add(bhqt_life.counters->v[stat], n);
}

static inline unsigned long bhqt_stall_jiffies(void)
{
	return msecs_to_jiffies(bhqt_stall_ms);
}

/*
 * Wait until @cond holds, sleeping 50-200 us at a time, at most stall_ms.
 * Evaluates to @cond's last value.
 */
#define bhqt_wait_until(cond)						\
({									\
	unsigned long __end = jiffies + bhqt_stall_jiffies();		\
	bool __done;							\
									\
	for (;;) {							\
		__done = (cond);					\
		if (__done || time_after(jiffies, __end))		\
			break;						\
		usleep_range(50, 200);					\
	}								\
	__done;								\
})

/*
 * What a crew is told to do.  RUN: schedule freely until the next order;
 * SHOT: one last schedule each (destroy), or each one's first BH (selfdel);
 * REST: the remaining BHs (selfdel).
 */
enum bhqt_cmd {
	BHQT_CMD_NONE,
	BHQT_CMD_RUN,
	BHQT_CMD_SHOT,
	BHQT_CMD_REST,
};

#define BHQT_CMD_BITS	2
#define BHQT_CMD_MASK	((1UL << BHQT_CMD_BITS) - 1)

struct bhqt_worker;

/**
 * struct bhqt_crew - the schedulers of a mode
 * @workers: the workers: kthreads, then the hrtimer if any
 * @nr_workers: entries in @workers
 * @serve: carries out an order for one worker; false: not now, call
 *	again later (the load is held off, see bhqt_delay_begin())
 * @order: a generation (upper bits) and an enum bhqt_cmd (BHQT_CMD_BITS);
 *	one word, so that a worker reads both at once
 * @shooter: the one worker that fires a SHOT, -1: all of them
 * @wq: the kthreads wait for orders here
 * @busy: workers still carrying out a SHOT or REST order
 * @idle: the mode's control thread waits for @busy here
 */
struct bhqt_crew {
	struct bhqt_worker *workers;
	unsigned int nr_workers;
	bool (*serve)(struct bhqt_worker *w, enum bhqt_cmd cmd);
	unsigned long order;
	int shooter;
	wait_queue_head_t wq;
	atomic_t busy;
	wait_queue_head_t idle;
};

/**
 * struct bhqt_worker - one scheduler of a crew
 * @crew: its crew
 * @idx: index in the crew, selects its BHs
 * @hardirq: the hrtimer, not a kthread
 * @task: the kthread
 * @timer: the hrtimer
 * @served: the last order carried out (the hrtimer)
 * @rest_next: where a REST order that had to wait resumes
 * @rnd: random state
 * @shot_announced: the last schedule of the SHOT is announced (destroy)
 * @shot_returned: the SHOT's schedule returned
 */
struct bhqt_worker {
	struct bhqt_crew *crew;
	unsigned int idx;
	bool hardirq;
	struct task_struct *task;
	struct hrtimer timer;
	unsigned long served;
	unsigned int rest_next;
	struct rnd_state rnd;
	bool shot_announced;
	bool shot_returned;
};

/**
 * struct bhqt_poller - the poller of a destroy or selfdel manual context
 * @task: the kthread
 * @wq: it waits here to be switched on
 * @ctx: the context it polls while @on
 * @on: poll @ctx
 * @off: it saw @on cleared and polls no more
 * @polls: polls that returned
 */
struct bhqt_poller {
	struct task_struct *task;
	wait_queue_head_t wq;
	struct bhq_ctx *ctx;
	bool on;
	bool off;
	unsigned long polls;
};

/* bhq_torture_lifetime.c */
__printf(2, 3) void bhqt_life_violation(enum bhqt_life_violation v,
					const char *fmt, ...);
unsigned int bhqt_delay_pick(unsigned int n, unsigned int ewma_us);
void bhqt_ewma(unsigned int *ewma_us, u64 t0);
void bhqt_delay_begin(unsigned int usecs);
void bhqt_delay_end(void);
void bhqt_misuse_check(void);
int bhqt_crew_init(struct bhqt_crew *c, unsigned int threads,
		   const char *name,
		   bool (*serve)(struct bhqt_worker *w, enum bhqt_cmd cmd));
void bhqt_crew_start(struct bhqt_crew *c);
void bhqt_crew_order(struct bhqt_crew *c, enum bhqt_cmd cmd, int shooter);
bool bhqt_crew_fires(struct bhqt_worker *w);
bool bhqt_crew_wait(struct bhqt_crew *c);
unsigned int bhqt_crew_returning(struct bhqt_crew *c);
void bhqt_crew_stop_timer(struct bhqt_crew *c);
void bhqt_crew_exit(struct bhqt_crew *c);
int bhqt_poller_init(struct bhqt_poller *p, const char *name);
void bhqt_poller_on(struct bhqt_poller *p, struct bhq_ctx *ctx);
bool bhqt_poller_off(struct bhqt_poller *p);
void bhqt_poller_exit(struct bhqt_poller *p);

/* bhq_torture_destroy.c */
int bhqt_destroy_init(void);
void bhqt_destroy_start(void);
void bhqt_destroy_exit(void);

/* bhq_torture_selfdel.c */
int bhqt_selfdel_init(void);
void bhqt_selfdel_start(void);
void bhqt_selfdel_exit(void);

/* bhq_torture_manual.c */
int bhqt_manual_init(void);
void bhqt_manual_start(void);
void bhqt_manual_exit(void);

#endif /* _BHQ_TORTURE_LIFETIME_H */

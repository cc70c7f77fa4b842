/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bhq tracepoints.  Disabled, each costs a static branch (a NOP) on its
 * path.  Other modules attach probes with register_trace_bhq_*(): the
 * tracepoints are exported.  CREATE_TRACE_POINTS is defined in
 * kmod/bhq_main.c only, after kmod/bhq_internal.h, whose struct bhq_ctx
 * the event definitions read.
 *
 * Pointers to BHs are only printed, never followed: a BH may be freed by
 * the time bhq_execute_end fires.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM bhq

#if !defined(_TRACE_BHQ_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_BHQ_H

#include <linux/bhq.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

/*
 * @func is read before the BH is published: by the time the event fires
 * the BH may have run, been freed and been reused as another BH.
 */
TRACE_EVENT(bhq_schedule,
	    TP_PROTO(struct bhq_ctx *ctx, struct bhq_bh *bh, bhq_func_t func,
		     bool idle, bool coalesced),
	    TP_ARGS(ctx, bh, func, idle, coalesced),
	    TP_STRUCT__entry(__array(char, ctx, BHQ_CTX_NAME_MAX + 1)
			     __field(const void *, bh)
			     __field(void *, func)
			     __field(bool, idle)
			     __field(bool, coalesced)),
	    TP_fast_assign(strscpy(__entry->ctx, ctx->name, sizeof(__entry->ctx));
			   __entry->bh = bh;
			   __entry->func = func;
			   __entry->idle = idle;
			   __entry->coalesced = coalesced),
	    TP_printk("ctx=%s bh=%p func=%ps idle=%d coalesced=%d",
		      __entry->ctx, __entry->bh, __entry->func, __entry->idle,
		      __entry->coalesced)
);

DECLARE_EVENT_CLASS(bhq_execute,
		    TP_PROTO(struct bhq_ctx *ctx, struct bhq_bh *bh, bhq_func_t func),
		    TP_ARGS(ctx, bh, func),
		    TP_STRUCT__entry(__array(char, ctx, BHQ_CTX_NAME_MAX + 1)
				     __field(const void *, bh)
				     __field(void *, func)),
		    TP_fast_assign(strscpy(__entry->ctx, ctx->name, sizeof(__entry->ctx));
				   __entry->bh = bh;
				   __entry->func = func),
		    TP_printk("ctx=%s bh=%p func=%ps", __entry->ctx, __entry->bh,
			      __entry->func)
);

/* A schedule that backed out: the BH is disabled by a bhq_bh_cancel_sync(). */
DEFINE_EVENT(bhq_execute, bhq_schedule_refused,
	     TP_PROTO(struct bhq_ctx *ctx, struct bhq_bh *bh, bhq_func_t func),
	     TP_ARGS(ctx, bh, func)
);

DEFINE_EVENT(bhq_execute, bhq_execute_start,
	     TP_PROTO(struct bhq_ctx *ctx, struct bhq_bh *bh, bhq_func_t func),
	     TP_ARGS(ctx, bh, func)
);

DEFINE_EVENT(bhq_execute, bhq_execute_end,
	     TP_PROTO(struct bhq_ctx *ctx, struct bhq_bh *bh, bhq_func_t func),
	     TP_ARGS(ctx, bh, func)
);

DECLARE_EVENT_CLASS(bhq_poll,
		    TP_PROTO(struct bhq_ctx *ctx, unsigned int depth, unsigned int ran),
		    TP_ARGS(ctx, depth, ran),
		    TP_STRUCT__entry(__array(char, ctx, BHQ_CTX_NAME_MAX + 1)
				     __field(unsigned int, depth)
				     __field(unsigned int, ran)),
		    TP_fast_assign(strscpy(__entry->ctx, ctx->name, sizeof(__entry->ctx));
				   __entry->depth = depth;
				   __entry->ran = ran),
		    TP_printk("ctx=%s depth=%u ran=%u", __entry->ctx,
			      __entry->depth, __entry->ran)
);

/* @ran is 0 at the start; at the end, the BHs this poll dequeued. */
DEFINE_EVENT(bhq_poll, bhq_poll_start,
	     TP_PROTO(struct bhq_ctx *ctx, unsigned int depth, unsigned int ran),
	     TP_ARGS(ctx, depth, ran)
);

DEFINE_EVENT(bhq_poll, bhq_poll_end,
	     TP_PROTO(struct bhq_ctx *ctx, unsigned int depth, unsigned int ran),
	     TP_ARGS(ctx, depth, ran)
);

TRACE_EVENT(bhq_sleep,
	    TP_PROTO(struct bhq_ctx *ctx, s64 timeout),
	    TP_ARGS(ctx, timeout),
	    TP_STRUCT__entry(__array(char, ctx, BHQ_CTX_NAME_MAX + 1)
			     __field(s64, timeout)),
	    TP_fast_assign(strscpy(__entry->ctx, ctx->name, sizeof(__entry->ctx));
			   __entry->timeout = timeout),
	    TP_printk("ctx=%s timeout_ns=%lld", __entry->ctx, __entry->timeout)
);

/* A polling thread's window changed after @block_ns without work. */
TRACE_EVENT(bhq_poll_window,
	    TP_PROTO(struct bhq_ctx *ctx, u64 old_ns, u64 new_ns, u64 block_ns),
	    TP_ARGS(ctx, old_ns, new_ns, block_ns),
	    TP_STRUCT__entry(__array(char, ctx, BHQ_CTX_NAME_MAX + 1)
			     __field(u64, old_ns)
			     __field(u64, new_ns)
			     __field(u64, block_ns)),
	    TP_fast_assign(strscpy(__entry->ctx, ctx->name, sizeof(__entry->ctx));
			   __entry->old_ns = old_ns;
			   __entry->new_ns = new_ns;
			   __entry->block_ns = block_ns),
	    TP_printk("ctx=%s window_ns=%llu->%llu block_ns=%llu", __entry->ctx,
		      __entry->old_ns, __entry->new_ns, __entry->block_ns)
);

#endif /* _TRACE_BHQ_H */

/* This part must be outside the include guard. */
#include <trace/define_trace.h>

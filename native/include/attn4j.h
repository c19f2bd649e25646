/*
 * attn4j: attention kernels behind one small C ABI.
 *
 * Tensors are rank-4 descriptors [batch, heads, seq, head_dim] with element strides, so
 * BHND, BNHD and strided views all work without copies. Every entry point checks its
 * arguments, returns 0 on success or an ATTN4J_STATUS_* code, and on failure leaves a
 * message naming the bad argument in attn4j_last_error() (thread-local).
 */
#ifndef ATTN4J_H
#define ATTN4J_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ATTN4J_VERSION_MAJOR 0
#define ATTN4J_VERSION_MINOR 2
#define ATTN4J_VERSION_PATCH 0

/* Status codes. */
#define ATTN4J_STATUS_OK 0
#define ATTN4J_STATUS_NULL_ARGUMENT 1     /* a required pointer is NULL */
#define ATTN4J_STATUS_INVALID_SHAPE 2     /* shapes disagree or are out of range */
#define ATTN4J_STATUS_INVALID_STRIDE 3    /* negative strides, overlapping output elements */
#define ATTN4J_STATUS_INVALID_DTYPE 4     /* dtype unknown or not supported for this argument */
#define ATTN4J_STATUS_INVALID_DEVICE 5    /* tensors on different devices, unknown device */
#define ATTN4J_STATUS_INVALID_PARAM 6     /* a params field is out of range */
#define ATTN4J_STATUS_ALIASING 7          /* an output overlaps an input or another output */
#define ATTN4J_STATUS_UNSUPPORTED 8       /* valid, but not supported by this build or CPU */
#define ATTN4J_STATUS_OUT_OF_MEMORY 9
#define ATTN4J_STATUS_NO_CUDA 10          /* built without CUDA, or no CUDA device present */
#define ATTN4J_STATUS_INTERNAL 11

/* Element types of tensor storage. Accumulation is always fp32 or wider. */
#define ATTN4J_DTYPE_F32 0
#define ATTN4J_DTYPE_BF16 1
#define ATTN4J_DTYPE_F16 2

/* Device of a tensor's memory: host, or a CUDA ordinal >= 0. */
#define ATTN4J_DEVICE_HOST (-1)

/* CPU instruction sets a kernel can be built for, lowest first. */
#define ATTN4J_ISA_SCALAR 0
#define ATTN4J_ISA_AVX2 1
#define ATTN4J_ISA_AVX512 2

typedef struct attn4j_tensor {
    void *data;           /* first element (host pointer or CUDA device pointer) */
    int32_t dtype;        /* ATTN4J_DTYPE_* */
    int32_t device;       /* ATTN4J_DEVICE_HOST or a CUDA ordinal */
    int64_t shape[4];     /* [batch, heads, seq, head_dim] */
    int64_t strides[4];   /* in elements, >= 0 */
} attn4j_tensor;

/*
 * Params structs and how they grow. Every params struct starts with `int32_t size`: sizeof the
 * struct as the caller compiled it (the *_params_init functions set it, with every default). The
 * library accepts any size from the struct's first published layout (ATTN4J_*_PARAMS_SIZE_V1) up to
 * its own sizeof: fields past the caller's size take their defaults, so a caller built against an
 * older attn4j.h keeps working. A size below the first layout's, or above this library's sizeof
 * (a caller built against a newer attn4j.h), is ATTN4J_STATUS_INVALID_PARAM with a message naming
 * params.size. New options are only ever appended; a field never changes meaning. A NULL params
 * pointer means every default.
 */

/* FlashAttention options; attn4j_flash_params_init writes the defaults. */
typedef struct attn4j_flash_params {
    int32_t size;         /* sizeof(attn4j_flash_params) as the caller compiled it (see above) */
    float scale;          /* softmax scale; 0 means 1/sqrt(head_dim) */
    float softcap;        /* logit soft-capping: cap * tanh(score / cap); 0 means off */
    int32_t causal;       /* non-zero: bottom-right aligned causal mask */
    int32_t window_left;  /* keys more than this many positions left of the query are masked; -1: unlimited */
    int32_t window_right; /* keys more than this many positions right of the query are masked; -1: unlimited */
    int32_t num_threads;  /* 0: library default (ATTN4J_NUM_THREADS or all cores) */
    void *cuda_stream;    /* CUDA tensors: the cudaStream_t to run on; NULL: the default stream */
    /* Batches of sequences of different lengths (every pointer NULL: each sequence spans its tensors).
     * int32 arrays in the memory of the tensors: host memory, or device memory of their CUDA device.
     * Padded form, q [B, Hq, Nq, d] and k, v [B, Hkv, Nk, d] as usual: sequence b's valid queries are
     * rows q_starts[b] .. q_starts[b] + q_lens[b] - 1, its valid keys kv_starts[b] .. + kv_lens[b] - 1
     * (NULL lens: the whole length; NULL starts: 0, right padding). Keys outside are never read. Masks
     * are bottom-right aligned per sequence (valid query i sees key j iff j <= i + kv_len - q_len, window
     * measured from there). A padded query row attends to all of its sequence's valid keys (as a
     * HuggingFace model's rows do) and is written like any row.
     * Packed form (num_seqs > 0), q [1, Hq, total_q, d] and k, v [1, Hkv, total_k, d]: sequence b owns
     * query rows cu_seqlens_q[b] .. cu_seqlens_q[b + 1] - 1 and keys cu_seqlens_k[b] .. cu_seqlens_k[b + 1]
     * - 1; both prefix sums start at 0, never decrease and end at total_q / total_k. out and lse follow q's
     * layout. The two forms exclude each other.
     * CUDA: host arrays are checked as on the CPU and copied with the call; device arrays (what a
     * captured CUDA graph needs: the call then reads no host memory) cannot be read by the checks, so the
     * kernels clamp every range to the tensors, and the packed form needs max_seqlen_q. */
    const int32_t *q_lens;        /* padded: [B] valid query rows per sequence, or NULL */
    const int32_t *kv_lens;       /* padded: [B] valid keys per sequence, or NULL */
    const int32_t *q_starts;      /* padded: [B] first valid query row (left padding), or NULL */
    const int32_t *kv_starts;     /* padded: [B] first valid key (left padding), or NULL */
    const int32_t *cu_seqlens_q;  /* packed: [num_seqs + 1] query prefix sums */
    const int32_t *cu_seqlens_k;  /* packed: [num_seqs + 1] key prefix sums */
    int32_t num_seqs;             /* packed: the number of sequences; 0: not packed */
    int32_t max_seqlen_q;         /* the longest sequence's queries (packed) or valid queries (padded): */
    int32_t max_seqlen_k;         /*   needed with device arrays on CUDA; 0 otherwise (read from the arrays) */
    /* Paged KV cache (block_table != NULL): k and v are page pools [num_pages, Hkv, page_size, d] (page_size
     * a power of two), and sequence b's key j lives in page block_table[b * max_pages + j / page_size], row
     * j % page_size. q, out and lse are the padded form's [B, Hq, Nq, .]; kv_lens (required) gives each
     * sequence's cached keys, at most max_pages * page_size, and q_lens (optional) its valid query rows,
     * the newest tokens (masks bottom-right aligned as above). Only the table entries of a sequence's
     * cached keys are read; pages may be shared between sequences. kv_starts, q_starts and the packed form
     * do not combine with pages. The table lives where the length arrays live (host, or the tensors'
     * device: entries outside the pool then read as zero keys, as the host cannot check them). */
    const int32_t *block_table;   /* [B, max_pages] page numbers, or NULL: contiguous keys */
    int32_t max_pages;            /* entries per sequence in block_table */
} attn4j_flash_params;
/* sizeof(attn4j_flash_params) in attn4j 0.2.0, the first layout with a size field (64-bit targets):
 * it ends at cuda_stream. */
#define ATTN4J_FLASH_PARAMS_SIZE_V1 40

/* Writes the defaults to *p: size = sizeof(attn4j_flash_params), scale 1/sqrt(d), no softcap,
 * non-causal, window_left = window_right = -1 (unlimited), default threads, the default stream. */
int32_t attn4j_flash_params_init(attn4j_flash_params *p);

/* Library version as "major.minor.patch". */
const char *attn4j_version(void);
/* major * 10000 + minor * 100 + patch */
int32_t attn4j_version_number(void);
/* Message of the last failed call on this thread ("" if none). Valid until the next call on this thread. */
const char *attn4j_last_error(void);
/* Name of a status code, e.g. "ATTN4J_STATUS_INVALID_SHAPE". */
const char *attn4j_status_name(int32_t status);

/* CPU kernel selection: the ISA in use, the best one this CPU and build support, and a way to force a
 * lower one (tests, comparisons). The environment variable ATTN4J_ISA=scalar|avx2|avx512 does the same
 * at load time. */
int32_t attn4j_cpu_isa(void);
int32_t attn4j_cpu_isa_best(void);
int32_t attn4j_set_cpu_isa(int32_t isa);
const char *attn4j_isa_name(int32_t isa);
/* Threads a kernel uses when its params say 0. */
int32_t attn4j_default_threads(void);

/* CUDA: 1 if this library was built with CUDA support, and how many devices the driver reports
 * (0 when built without CUDA or when there is no driver or device). */
int32_t attn4j_cuda_available(void);
int32_t attn4j_cuda_device_count(void);

/* Device memory for CUDA tensors (a tensor's data pointer with device >= 0). Copies are synchronous;
 * kernels run asynchronously on the stream in their params: synchronize before reading results. */
#define ATTN4J_COPY_HOST_TO_DEVICE 0
#define ATTN4J_COPY_DEVICE_TO_HOST 1
#define ATTN4J_COPY_DEVICE_TO_DEVICE 2
int32_t attn4j_cuda_malloc(int32_t device, int64_t bytes, void **ptr);
int32_t attn4j_cuda_free(int32_t device, void *ptr);
int32_t attn4j_cuda_memcpy(void *dst, const void *src, int64_t bytes, int32_t kind);
int32_t attn4j_cuda_synchronize(int32_t device);

/*
 * FlashAttention forward: out = softmax(scale * q k^T + mask) v, exact, O(N) memory.
 *   q   [B, Hq,  Nq, d ]   f32 or bf16
 *   k   [B, Hkv, Nk, d ]   same dtype as q; Hq must be a multiple of Hkv (MHA, GQA, MQA)
 *   v   [B, Hkv, Nk, dv]   same dtype as q
 *   out [B, Hq,  Nq, dv]   f32 or bf16
 *   lse [B, Hq,  Nq, 1 ]   f32, optional (NULL): log-sum-exp of each row's scaled scores
 * Masks are bottom-right aligned: query i sits at key position i + (Nk - Nq). Fully masked rows
 * give out = 0 and lse = -inf. params may be NULL for the defaults.
 * On a CUDA device (all tensors on the same one): bf16 or f16 storage (out: the same or f32),
 * d = dv in {64, 128}, unit stride along the head dim; runs asynchronously on params->cuda_stream.
 */
int32_t attn4j_flash_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                             const attn4j_tensor *out, const attn4j_tensor *lse,
                             const attn4j_flash_params *params);

/* Options of attn4j_kv_cache_append; attn4j_kv_append_params_init writes the defaults. */
typedef struct attn4j_kv_append_params {
    int32_t size;                /* sizeof(attn4j_kv_append_params) as the caller compiled it */
    const int32_t *block_table;  /* [B, max_pages] page numbers, as attn4j_flash_params.block_table */
    int32_t max_pages;           /* entries per sequence in block_table */
    const int32_t *cache_lens;   /* [B] keys cached so far: the new rows go to positions cache_lens[b] .. */
    const int32_t *new_lens;     /* [B] new rows per sequence (at most k_new.shape[2]), or NULL: all of them */
    int32_t num_threads;         /* 0: library default */
    void *cuda_stream;           /* CUDA tensors: the cudaStream_t to run on; NULL: the default stream */
} attn4j_kv_append_params;
/* sizeof(attn4j_kv_append_params) in its first layout (64-bit targets). */
#define ATTN4J_KV_APPEND_PARAMS_SIZE_V1 56

/* Writes the defaults to *p: size set, every pointer NULL, default threads and stream. */
int32_t attn4j_kv_append_params_init(attn4j_kv_append_params *p);

/*
 * Writes new keys and values into a paged KV cache (the pools of attn4j_flash_params.block_table):
 *   k_pages [num_pages, Hkv, page_size, d], v_pages [num_pages, Hkv, page_size, dv]   the pools
 *   k_new [B, Hkv, n, d], v_new [B, Hkv, n, dv]   in the pools' dtype (f32, bf16; f16 on CUDA)
 * Row i < new_lens[b] of sequence b goes to position cache_lens[b] + i: page
 * block_table[b * max_pages + (cache_lens[b] + i) / page_size], row (cache_lens[b] + i) % page_size.
 * The caller then holds cache_lens[b] + new_lens[b] keys of sequence b (the arrays are not changed).
 * Positions past the table's capacity, table entries outside the pool and two rows written to the same
 * slot (a page shared by sequences where the call writes) are errors, and nothing is written then.
 * Arrays as for attention: host memory, or the tensors' device memory (unchecked there: rows whose slot
 * lies outside the pool or the table are skipped). Runs asynchronously on params->cuda_stream.
 */
int32_t attn4j_kv_cache_append(const attn4j_tensor *k_pages, const attn4j_tensor *v_pages, const attn4j_tensor *k_new,
                               const attn4j_tensor *v_new, const attn4j_kv_append_params *params);

/* Lightning Attention-2 options; attn4j_lightning_params_init writes the defaults. */
typedef struct attn4j_lightning_params {
    int32_t size;         /* sizeof(attn4j_lightning_params) as the caller compiled it */
    const float *slopes;  /* [heads of q] decay slopes >= 0, lambda_h = exp(-slopes[h]); NULL: no decay */
    int32_t num_slopes;   /* entries in slopes: q.shape[1] when slopes != NULL, else 0 */
    int32_t block_size;   /* tokens per block, 1..256; 0: default (32); CPU only (CUDA chunks are 64) */
    int32_t num_threads;  /* 0: library default */
    void *cuda_stream;    /* CUDA tensors: the cudaStream_t to run on; NULL: the default stream */
    /* Packed sequences of different lengths (num_seqs > 0; cu_seqlens in host memory): q [1, Hq, total, d],
     * k and v [1, Hkv, total, .], out [1, Hq, total, dv]; sequence b owns rows cu_seqlens[b] ..
     * cu_seqlens[b + 1] - 1 (prefix sums from 0 to total, never decreasing) and state b: state_in and
     * state_out are [num_seqs, Hq, d, dv]. Each sequence starts from its own state and leaves its own.
     * On CUDA the sequences' passes run one after another on the stream. */
    const int32_t *cu_seqlens;  /* [num_seqs + 1] */
    int32_t num_seqs;           /* 0: not packed */
} attn4j_lightning_params;
/* sizeof(attn4j_lightning_params) in attn4j 0.2.0, the first layout with a size field. */
#define ATTN4J_LIGHTNING_PARAMS_SIZE_V1 40

/* Writes the defaults to *p: size set, no decay (slopes NULL), default block and threads, the
 * default stream. */
int32_t attn4j_lightning_params_init(attn4j_lightning_params *p);

/*
 * Lightning Attention-2 forward: causal linear attention with per-head decay, O(N d dv), no softmax:
 *   o_i = sum_{j <= i} lambda^(i-j) (q_i . k_j) v_j  +  lambda^(i+1) q_i S0
 *   q   [B, Hq,  N, d ]   f32 or bf16
 *   k   [B, Hkv, N, d ]   same dtype as q; Hq a multiple of Hkv
 *   v   [B, Hkv, N, dv]   same dtype as q
 *   out [B, Hq,  N, dv]   f32 or bf16
 *   state_in  [B, Hq, d, dv] f32, or NULL for a zero initial state S0
 *   state_out [B, Hq, d, dv] f32, or NULL: receives the state after the last token
 *             (S = lambda^N S0 + sum_j lambda^(N-1-j) k_j^T v_j), to continue with later tokens.
 * state_in and state_out may be the same tensor (updated in place). params may be NULL.
 * On a CUDA device (all tensors on the same one): bf16 or f16 q, k, v with d = dv in {64, 128} and unit
 * stride along the head dim, out the same dtype or f32, states f32 with unit stride along dv, at most
 * 256 query heads; chunks run in parallel (chunk states, a scan, then outputs), asynchronously on
 * params->cuda_stream.
 */
int32_t attn4j_lightning_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                 const attn4j_tensor *out, const attn4j_tensor *state_in,
                                 const attn4j_tensor *state_out, const attn4j_lightning_params *params);

/* Decode a few new tokens against `state` ([B, Hq, d, dv] f32), which is read and updated in place:
 * the same as attn4j_lightning_forward(q, k, v, out, state, state, params). */
int32_t attn4j_lightning_decode(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                const attn4j_tensor *out, const attn4j_tensor *state,
                                const attn4j_lightning_params *params);

/* TransNormerLLM's decay slopes for `heads` heads of layer `layer` (0-based) of `num_layers`: ALiBi's
 * geometric sequence (2^(-8/n), its powers, interleaved for non powers of two), times
 * (1 - layer / (num_layers - 1) + 1e-5) when num_layers > 1. Writes `heads` floats to slopes. */
int32_t attn4j_lightning_slopes(int32_t heads, int32_t layer, int32_t num_layers, float *slopes);

/* SALE options; attn4j_sale_params_init writes the defaults: scale 1/sqrt(d), non-causal, tau = 0.004
 * for every head, 64 x 64 blocks, one sink block, two local blocks. */
typedef struct attn4j_sale_params {
    int32_t size;             /* sizeof(attn4j_sale_params) as the caller compiled it */
    float scale;              /* softmax scale; 0 means 1/sqrt(head_dim) */
    int32_t causal;           /* non-zero: bottom-right aligned causal mask */
    const float *thresholds;  /* tau >= 0 per head of q, or one for all heads; NULL: 0.004. tau = 0: dense */
    int32_t num_thresholds;   /* entries in thresholds: q.shape[1] or 1 (0 when thresholds is NULL) */
    int32_t block_q;          /* query rows per mask block: a multiple of 16 in 16..96; 0: 64 */
    int32_t block_k;          /* keys per mask block: a multiple of 16 in 16..512; 0: 64 */
    int32_t sink_blocks;      /* leading key blocks always computed; 0: 1 */
    int32_t local_blocks;     /* key blocks ending at the diagonal always computed, >= 1; 0: 2 */
    int32_t num_threads;      /* 0: library default */
    void *cuda_stream;        /* CUDA tensors: the cudaStream_t to run on; NULL: the default stream */
    /* Batches of sequences of different lengths: the fields and forms of attn4j_flash_params (padded or
     * packed, every pointer NULL: none), host arrays only. Each sequence is estimated and computed as
     * if alone; the mask then holds one entry per sequence (see attn4j_sale_mask_bytes). Padded query
     * rows lie outside the mask: they attend to all of their sequence's valid keys, densely. */
    const int32_t *q_lens;
    const int32_t *kv_lens;
    const int32_t *q_starts;
    const int32_t *kv_starts;
    const int32_t *cu_seqlens_q;
    const int32_t *cu_seqlens_k;
    int32_t num_seqs;
    int32_t max_seqlen_q;     /* 0, or at least the longest sequence's (valid) query rows */
    int32_t max_seqlen_k;
} attn4j_sale_params;
/* sizeof(attn4j_sale_params) in attn4j 0.2.0, the first layout with a size field. */
#define ATTN4J_SALE_PARAMS_SIZE_V1 56

/* Writes the defaults to *p (size set, every other field 0 or NULL: the defaults listed above). */
int32_t attn4j_sale_params_init(attn4j_sale_params *p);

/*
 * The block mask of a SALE or block-sparse call: a bitmap [B, Hq, ceil(Nq / block_q), row_bytes] with
 * row_bytes = ceil(ceil(Nk / block_k) / 8); bit (kb % 8) of byte (kb / 8) of a row is key block kb.
 * With sequence lengths in params, entry b is sequence b, whose query and key blocks count from its
 * first valid row and key: the padded form keeps the layout above, the packed form's is
 * [num_seqs, Hq, ceil(max_q / block_q), ceil(ceil(max_k / block_k) / 8)] (max_q, max_k: the longest
 * sequence's queries and keys). SALE writes every byte: bits past a sequence's blocks are 0.
 * Writes the byte count for these shapes and params (block sizes resolved) to *bytes.
 */
int32_t attn4j_sale_mask_bytes(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_sale_params *params,
                               int64_t *bytes);

/*
 * SALE: 4-bit estimation of q k^T picks the (query block, key block) pairs whose Relative Attention
 * Score exceeds the head's threshold; FlashAttention then computes only those, plus the sink and
 * local blocks. q, k, v, out, lse as in attn4j_flash_forward (host tensors: f32 or bf16).
 * mask (optional, NULL): receives the block mask (mask_bytes from attn4j_sale_mask_bytes);
 * density (optional, NULL): receives the fraction of visible blocks computed.
 * On a CUDA device (bf16/f16, d = dv in {64, 128}, 64 x 64 blocks): the estimation runs on integer
 * tensor cores and the mask is device memory (without one the call allocates its own, which
 * synchronizes); *density is NaN there (the mask is not read back). Calibration is CPU only.
 */
int32_t attn4j_sale_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                            const attn4j_tensor *out, const attn4j_tensor *lse, const attn4j_sale_params *params,
                            uint8_t *mask, int64_t mask_bytes, double *density);

/* FlashAttention over the blocks set in a caller's mask only (layout as above; bits of blocks no row
 * can see are ignored). Uses params' scale, causal, block sizes and threads. On a CUDA device (q, k,
 * v, out, lse as for attn4j_flash_forward there): 64 x 64 blocks, the mask in device memory,
 * asynchronous on params->cuda_stream, and *density is NaN (the mask is not read back). */
int32_t attn4j_block_sparse_forward(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                    const attn4j_tensor *out, const attn4j_tensor *lse,
                                    const attn4j_sale_params *params, const uint8_t *mask, int64_t mask_bytes,
                                    double *density);

/* Per-head thresholds for SALE on sample inputs: for each head of q, the largest tau of 0.1, 0.05, ...
 * (then 0 below 1e-4) whose output is within relative L2 error `target_error` of dense attention.
 * Writes q.shape[1] floats to thresholds_out. params' thresholds are ignored. */
int32_t attn4j_sale_calibrate(const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                              float target_error, const attn4j_sale_params *params, float *thresholds_out,
                              int32_t num_thresholds_out);

/* Test and benchmark inputs whose attention has the shapes real LLM heads show (the same bytes as the
 * Java generator for the same seed). */
#define ATTN4J_PATTERN_RANDOM 0   /* i.i.d. values: attention close to uniform */
#define ATTN4J_PATTERN_SINKS 1    /* every query attends to the first four keys */
#define ATTN4J_PATTERN_LOCAL 2    /* queries attend to keys within about 64 positions */
#define ATTN4J_PATTERN_STRIPES 3  /* every query attends to a few fixed keys (vertical stripes) */
#define ATTN4J_PATTERN_SLASHES 4  /* queries attend to keys a fixed distance back (slash lines) */
#define ATTN4J_PATTERN_MIXED 5    /* all four at once, offsets varying by head */
/* Fills host tensors q [B, Hq, Nq, d], k [B, Hkv, Nk, d], v [B, Hkv, Nk, dv] (f32 or bf16). */
int32_t attn4j_structured_qkv(int32_t pattern, uint64_t seed, const attn4j_tensor *q, const attn4j_tensor *k,
                              const attn4j_tensor *v);

/*
 * The kernel entry points with every tensor's data pointer passed as an argument of its own (the
 * descriptors' data fields are ignored; a NULL descriptor stays NULL): for memory whose address
 * cannot be stored in a struct, such as Java heap arrays pinned for the duration of a call. Same
 * checks and results as the entry points they mirror.
 */
int32_t attn4j_flash_forward_data(void *q_data, void *k_data, void *v_data, void *out_data, void *lse_data,
                                  const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                  const attn4j_tensor *out, const attn4j_tensor *lse,
                                  const attn4j_flash_params *params);
int32_t attn4j_lightning_forward_data(void *q_data, void *k_data, void *v_data, void *out_data,
                                      void *state_in_data, void *state_out_data, const attn4j_tensor *q,
                                      const attn4j_tensor *k, const attn4j_tensor *v, const attn4j_tensor *out,
                                      const attn4j_tensor *state_in, const attn4j_tensor *state_out,
                                      const attn4j_lightning_params *params);
int32_t attn4j_sale_forward_data(void *q_data, void *k_data, void *v_data, void *out_data, void *lse_data,
                                 const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                 const attn4j_tensor *out, const attn4j_tensor *lse, const attn4j_sale_params *params,
                                 uint8_t *mask, int64_t mask_bytes, double *density);
int32_t attn4j_block_sparse_forward_data(void *q_data, void *k_data, void *v_data, void *out_data, void *lse_data,
                                         const attn4j_tensor *q, const attn4j_tensor *k, const attn4j_tensor *v,
                                         const attn4j_tensor *out, const attn4j_tensor *lse,
                                         const attn4j_sale_params *params, const uint8_t *mask,
                                         int64_t mask_bytes, double *density);
int32_t attn4j_sale_calibrate_data(void *q_data, void *k_data, void *v_data, const attn4j_tensor *q,
                                   const attn4j_tensor *k, const attn4j_tensor *v, float target_error,
                                   const attn4j_sale_params *params, float *thresholds_out,
                                   int32_t num_thresholds_out);

#ifdef __cplusplus
}
#endif

#endif /* ATTN4J_H */

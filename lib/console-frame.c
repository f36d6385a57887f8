/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "console-frame.h"
#include "encode-util.h"
#include "json-util.h"
#include "log.h"

/* Short last-line candidates tried per block: bounds the work a hostile
 * log can cause. */
#define SHORT_CANDIDATES_MAX 16U

int console_frame_encode(const void *data, size_t size, char **ret) {
        _cleanup_free_ char *b64 = NULL, *out = NULL;
        size_t n, lines, k = 0;
        int r;

        assert(ret);
        r = base64_encode(data, size, &b64);
        if (r < 0)
                return r;
        n = strlen(b64);
        lines = (n + CONSOLE_FRAME_LINE - 1) / CONSOLE_FRAME_LINE;
        out = malloc(strlen(CONSOLE_FRAME_BEGIN) + strlen(CONSOLE_FRAME_END) + n + lines + 3);
        if (!out)
                return -ENOMEM;
        k += (size_t) sprintf(out + k, "%s\n", CONSOLE_FRAME_BEGIN);
        for (size_t off = 0; off < n; off += CONSOLE_FRAME_LINE) {
                size_t l = MIN((size_t) CONSOLE_FRAME_LINE, n - off);
                memcpy(out + k, b64 + off, l);
                k += l;
                out[k++] = '\n';
        }
        k += (size_t) sprintf(out + k, "%s\n", CONSOLE_FRAME_END);
        out[k] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

static bool is_b64(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* The last field of a line, if it can be a payload line: base64 alphabet,
 * at most two '=' at the end only, length a multiple of 4, at most 64. */
static bool payload_field(const char *line, size_t len, const char **ret, size_t *ret_len) {
        size_t end = len, start, pad = 0;

        while (end > 0 && is_space(line[end - 1]))
                end--;
        start = end;
        while (start > 0 && !is_space(line[start - 1]))
                start--;
        if (end == start || (end - start) % 4 != 0 || end - start > CONSOLE_FRAME_LINE)
                return false;
        for (size_t i = start; i < end; i++) {
                if (line[i] == '=') {
                        pad++;
                        continue;
                }
                if (pad > 0 || !is_b64(line[i]))
                        return false;
        }
        if (pad > 2)
                return false;
        *ret = line + start;
        *ret_len = end - start;
        return true;
}

static bool contains(const char *line, size_t len, const char *marker) {
        return memmem(line, len, marker, strlen(marker)) != NULL;
}

typedef struct Block {
        char *full;               /* concatenated full (64-character) lines */
        size_t full_len, full_allocated;
        struct {
                const char *p;
                size_t len;
        } shorts[SHORT_CANDIDATES_MAX]; /* short fields after the last full line, oldest first */
        size_t n_shorts;
        bool overflow;
        size_t line;
} Block;

static void block_reset(Block *b, size_t line) {
        b->full_len = 0;
        b->n_shorts = 0;
        b->overflow = false;
        b->line = line;
}

static int block_add(Block *b, const char *field, size_t len) {
        if (len < CONSOLE_FRAME_LINE || memchr(field, '=', len)) {
                /* A short line (or one with padding) can only be the last one. */
                if (b->n_shorts < SHORT_CANDIDATES_MAX)
                        b->shorts[b->n_shorts++] = (typeof(b->shorts[0])) { field, len };
                else
                        b->overflow = true;
                return 0;
        }
        if (b->full_len + len > CONSOLE_PAYLOAD_MAX) {
                b->overflow = true;
                return 0;
        }
        if (b->full_len + len + 1 > b->full_allocated) {
                size_t a = MAX(b->full_allocated * 2, b->full_len + len + 1 + 4096);
                char *p = realloc(b->full, a);
                if (!p)
                        return -ENOMEM;
                b->full = p;
                b->full_allocated = a;
        }
        memcpy(b->full + b->full_len, field, len);
        b->full_len += len;
        /* Short fields seen before this full line were noise. */
        b->n_shorts = 0;
        return 0;
}

/* Decode full lines + @last (may be NULL) and accept it if it is a JSON object. */
static int block_try(const Block *b, const char *last, size_t last_len, char **ret, size_t *ret_size) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ void *data = NULL;
        size_t n = b->full_len + last_len, size = 0;
        char *out;
        int r;

        if (n == 0)
                return -EBADMSG;
        text = malloc(n + 1);
        if (!text)
                return -ENOMEM;
        if (b->full_len > 0)
                memcpy(text, b->full, b->full_len);
        if (last_len > 0)
                memcpy(text + b->full_len, last, last_len);
        text[n] = 0;
        r = base64_decode(text, n, &data, &size);
        if (r < 0)
                return r;
        r = json_parse_object(data, size, &o);
        if (r < 0)
                return r;
        /* Returned as a C string: no NUL may hide inside. */
        if (memchr(data, 0, size))
                return -EBADMSG;
        out = realloc(data, size + 1);
        if (!out)
                return -ENOMEM;
        data = NULL;
        out[size] = 0;
        *ret = out;
        *ret_size = size;
        return 0;
}

static int block_finish(const Block *b, char **ret, size_t *ret_size) {
        int r;

        if (b->overflow)
                return -EBADMSG;
        /* The final line is short unless the payload length is a multiple of
         * 64: try the short candidates newest first, then none. */
        for (size_t i = b->n_shorts; i > 0; i--) {
                r = block_try(b, b->shorts[i - 1].p, b->shorts[i - 1].len, ret, ret_size);
                if (r != -EBADMSG)
                        return r;
        }
        return block_try(b, NULL, 0, ret, ret_size);
}

int console_frame_find(const char *log, size_t size, char **ret, size_t *ret_size, size_t *ret_line) {
        _cleanup_free_ char *found = NULL;
        size_t found_size = 0, found_line = 0, line_no = 0;
        bool in_block = false, any_complete = false;
        Block b = {};
        int r = 0;

        if (!log || !ret || !ret_size)
                return -EINVAL;
        if (size > CONSOLE_LOG_MAX)
                return -E2BIG;

        for (size_t off = 0; off < size && r >= 0;) {
                const char *line = log + off;
                size_t len = 0;

                while (off + len < size && log[off + len] != '\n' && log[off + len] != '\r')
                        len++;
                off += len;
                /* CR LF counts as one line end, for the line numbers. */
                if (off < size && log[off] == '\r' && off + 1 < size && log[off + 1] == '\n')
                        off++;
                if (off < size)
                        off++;
                line_no++;

                if (contains(line, len, CONSOLE_FRAME_BEGIN)) {
                        in_block = true;
                        block_reset(&b, line_no);
                } else if (in_block && contains(line, len, CONSOLE_FRAME_END)) {
                        _cleanup_free_ char *text = NULL;
                        size_t text_size = 0;

                        in_block = false;
                        any_complete = true;
                        r = block_finish(&b, &text, &text_size);
                        if (r == -ENOMEM)
                                break;
                        if (r < 0) {
                                log_debug_errno(r, "Console block at line %zu does not decode, ignoring: %m",
                                                b.line);
                                r = 0;
                                continue;
                        }
                        free(found);
                        found = TAKE_PTR(text);
                        found_size = text_size;
                        found_line = b.line;
                } else if (in_block) {
                        const char *field;
                        size_t field_len;

                        if (payload_field(line, len, &field, &field_len))
                                r = block_add(&b, field, field_len);
                }
        }
        free(b.full);
        if (r < 0)
                return r;
        if (!found)
                return any_complete ? -EBADMSG : -ENOENT;
        *ret = TAKE_PTR(found);
        *ret_size = found_size;
        if (ret_line)
                *ret_line = found_line;
        return 0;
}

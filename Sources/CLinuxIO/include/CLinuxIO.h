// Linux and glibc calls Swift's Glibc module hides (they need _GNU_SOURCE or malloc.h), as plain inline wrappers.
#ifndef CLINUXIO_H
#define CLINUXIO_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <unistd.h>
#include <malloc.h>
#include <linux/falloc.h>

/// fallocate(2) with FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE.
static inline int clinuxio_punch_hole(int fd, off_t offset, off_t length) {
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
}

/// copy_file_range(2): an in-kernel copy between two files.
static inline ssize_t clinuxio_copy_file_range(int in, off_t *in_offset, int out, off_t *out_offset, size_t count) {
    return copy_file_range(in, in_offset, out, out_offset, count, 0);
}

/// lseek(2) with SEEK_DATA and SEEK_HOLE: where the next data or hole starts, so allocation can be read range by range.
static inline off_t clinuxio_seek_data(int fd, off_t offset) {
    return lseek(fd, offset, SEEK_DATA);
}

static inline off_t clinuxio_seek_hole(int fd, off_t offset) {
    return lseek(fd, offset, SEEK_HOLE);
}

/// Overwrites a variable's value where the process's initial environment holds it, then removes it: unsetenv
/// alone leaves the bytes that /proc/PID/environ shows. In CLinuxIO.c: stdlib.h under _GNU_SOURCE in this header
/// would give Swift a second, different `fd_set` beside Glibc's.
void clinuxio_wipe_environment_variable(const char *name);

/// mallopt(M_MMAP_THRESHOLD): a fixed threshold, so glibc stops raising it as large blocks are freed.
static inline int clinuxio_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}
#endif

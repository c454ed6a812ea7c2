/* dir_lock.h - the exclusive lock on a data directory (private to src/storage/): one process
 * opens a data directory for writing at a time. The lock is flock(2) on <data_dir>/LOCK, a
 * file that holds the holder's pid; the kernel drops it when the holder exits, however it
 * exits, so a crash never leaves a stale lock. */
#ifndef SVCR_STORAGE_DIR_LOCK_H
#define SVCR_STORAGE_DIR_LOCK_H

#include <stddef.h>

/* The lock file's name inside the data directory. */
#define STORE_DIR_LOCK_NAME "LOCK"

/* Takes the exclusive lock on the existing directory `dir` without waiting: creates
 * <dir>/LOCK (mode 0600; a symlink there is refused), locks it, and writes this process's pid
 * into it. Returns STORE_OK with *fd_out (close-on-exec; hold it as long as the store is open
 * and release it with store_dir_unlock), STORE_EBUSY when another process (or another open in
 * this process) holds the lock - errbuf then names the directory and the holder's pid as the
 * file tells it - or STORE_EIO. On failure *fd_out is -1 and nothing is held. */
int store_dir_lock(const char *dir, int *fd_out, char *errbuf, size_t errcap);
/* Releases a lock taken by store_dir_lock. fd < 0 is a no-op. The file stays (removing it
 * would let a waiting process lock an unlinked inode while a third creates a new one). */
void store_dir_unlock(int fd);

#endif

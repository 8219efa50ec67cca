// SPDX-License-Identifier: MIT
/*
 * A device's `status` file (ABI 6), read and parsed for status and watch:
 * apart from the commands, so that the parser is tested on its own.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "vfio-migctl.h"

/* "running -> stop_copy, 3 arcs, 82 us, ok", or "none" */
static int parse_transition(const char *text, struct dev_status *s)
{
	s->transitioned = strcmp(text, "none") != 0;
	if (!s->transitioned)
		return 0;
	return sscanf(text, "%31s -> %31[^,], %u arcs, %" SCNu64 " us, %31s",
		      s->from, s->to, &s->arcs, &s->usec, s->result) == 5 ? 0 : -EPROTO;
}

int dev_status_parse(const char *text, struct dev_status *s)
{
	char transition[256];
	int err;

	memset(s, 0, sizeof(*s));
	status_field(text, "device", s->device, sizeof(s->device));
	status_field(text, "state", s->state, sizeof(s->state));
	status_field(text, "features", s->features, sizeof(s->features));
	status_field(text, "session", s->session, sizeof(s->session));
	status_field(text, "last_transition", transition, sizeof(transition));
	status_field(text, "last_error", s->last_error, sizeof(s->last_error));
	if (!strcmp(s->last_error, "none"))
		s->last_error[0] = '\0';
	/* "N s"; a daemon of before last_error_age has none. */
	s->error_aged = s->last_error[0] &&
			!status_u64(text, "last_error_age", &s->error_age);
	if (!s->state[0] || !s->session[0])
		return -EPROTO;
	err = status_u64(text, "bytes_saved", &s->bytes_saved);
	err = err ? err : status_u64(text, "bytes_resumed", &s->bytes_resumed);
	return err ? err : parse_transition(transition, s);
}

int dev_status_read(int fd, struct dev_status *s)
{
	char text[STATUS_TEXT_MAX];
	/* Rendered afresh at offset 0, in one piece: it is far below a read's 1 MiB. */
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	if (n < 0)
		return -errno;
	text[n] = '\0';
	return dev_status_parse(text, s);
}

int status_error(const char *dir, int err)
{
	if (devdir_gone_error(err))
		return daemon_gone(NULL, dir);
	if (err == -ENOENT || err == -ENOTDIR)
		return not_a_mount(dir);
	if (err == -EPROTO)
		fprintf(stderr, "vfio-migctl: %s: its status file is not vfio-migfsd's\n", dir);
	else
		fprintf(stderr, "vfio-migctl: %s: reading status: %s\n", dir, strerror(-err));
	return EXIT_FAILURE;
}

int dev_status_open(const char *dir, int *fd)
{
	char path[PATH_MAX];
	int err = devdir_path(dir, "status", path, sizeof(path));

	*fd = err ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? (err ? err : -errno) : 0;
}

/*
 * How the probe reaches vmscaled: the virtio-serial port named VMS_PROTO_CHANNEL_NAME, found
 * through udev's link or sysfs; in a container, the unix socket vmscaled listens on in the
 * directory bind-mounted at VMS_PROTO_CONTAINER_DIR; AF_VSOCK to the host; or TCP to vmscaled's
 * tcp-listen with this domain's token.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "probes/probe_internal.h"

#define PORT_SYSFS_DIR "/sys/class/virtio-ports"
#define PORT_UDEV_LINK "/dev/virtio-ports/" VMS_PROTO_CHANNEL_NAME

/* Finds /dev/vportNpM whose sysfs name is our channel's. */
int
probe_find_port(char *path, size_t pathsz)
{
	if (access(PORT_UDEV_LINK, F_OK) == 0) {
		snprintf(path, pathsz, "%s", PORT_UDEV_LINK);
		return 0;
	}
	DIR *dir = opendir(PORT_SYSFS_DIR);
	if (!dir)
		return -1;
	struct dirent *de;
	int found = -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char namefile[sizeof(PORT_SYSFS_DIR) + sizeof(de->d_name) + 8], name[128];
		snprintf(namefile, sizeof(namefile), PORT_SYSFS_DIR "/%s/name", de->d_name);
		int fd = open(namefile, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n <= 0)
			continue;
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, VMS_PROTO_CHANNEL_NAME) == 0) {
			snprintf(path, pathsz, "/dev/%s", de->d_name);
			found = 0;
			break;
		}
	}
	closedir(dir);
	return found;
}

/* Closes a socket that failed to set up; -1 with the errno of the failure. */
static int
close_failed(int fd)
{
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Connects to vmscaled over AF_VSOCK (the host's CID) on port; -1 with errno on failure. */
int
probe_connect_vsock(unsigned port)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return close_failed(fd);
	return fd;
}

/* Connects to the socket vmscaled listens on in a container's directory; -1 with errno. */
int
probe_connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return close_failed(fd);
	return fd;
}

int
probe_parse_hostport(const char *spec, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	size_t hl = (size_t)(colon - spec);
	const char *h = spec;
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] < '0' || colon[1] > '9' || port == 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*a6);
	} else {
		return -1;
	}
	return 0;
}

/* Connects to vmscaled's tcp-listen and sends the auth record; -1 with errno on failure. */
int
probe_connect_tcp(const struct probe_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (probe_parse_hostport(o->tcp, &ss, &sl) < 0) {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	static struct vms_writer w;
	vms_writer_begin(&w, "auth");
	vms_writer_add_u64(&w, "proto", VMS_PROTO_VERSION);
	vms_writer_add_str(&w, "token", o->token);
	size_t len = vms_writer_finish(&w);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 || len == 0 ||
	    write(fd, w.buf, len) != (ssize_t)len || fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return close_failed(fd);
	return fd;
}

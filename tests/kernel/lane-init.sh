#!/bin/sh
# /init of the kernel lane's initramfs (busybox). Mounts the host root over
# 9p as the read-only lower layer of an overlay (writes land in guest tmpfs),
# the extracted kernel modules on /lib/modules and the run's output share on
# /tmp/out, runs /tmp/out/cmd.sh there and leaves its status in cmd.rc.
export PATH=/bin

fatal() {
	echo "lane-init: $*"
	poweroff -f
}

mount -t proc proc /proc
# Each step says when it began: a guest that hangs under a loaded host
# (one of 6.1 printed nothing past its MTRR lines in 300 s) then shows
# whether the kernel, the modules or a 9p mount held it.
step() {
	echo "lane-init: $*, uptime $(cut -d' ' -f1 /proc/uptime)"
}
step "/init runs"
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /mods/order); do
	insmod /mods/$m || fatal "insmod $m failed"
done

p9="trans=virtio,version=9p2000.L,msize=512000"
step "modules loaded, mounting the host root"
mkdir -p /lower /rw
mount -t 9p -o $p9,ro,cache=loose hostroot /lower || fatal "cannot mount host root"
mount -t tmpfs tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	fatal "cannot mount overlay root"

r=/newroot
mount -t tmpfs tmpfs $r/run
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm $r/tmp/out $r/lib/modules
mount -t devpts devpts $r/dev/pts
mount -t tmpfs tmpfs $r/dev/shm
mount -t 9p -o $p9 out $r/tmp/out || fatal "cannot mount output share"
mount -t 9p -o $p9,ro mods $r/lib/modules || fatal "cannot mount modules"

# lane.systemd on the command line: systemd is PID 1 of the overlay root
# and runs the guest command as a service (lane.target), for tests of
# what only a real service manager shows.  The units land in the tmpfs
# upper layer, never on the host.
if grep -qw lane.systemd /proc/cmdline; then
	u=$r/etc/systemd/system
	mkdir -p $u
	cat > $u/lane.target <<-EOF
	[Unit]
	Description=kernel lane command
	Requires=lane-cmd.service
	After=lane-cmd.service
	AllowIsolate=yes
	EOF
	cat > $u/lane-cmd.service <<-EOF
	[Unit]
	Description=kernel lane command
	After=basic.target systemd-journald.service
	[Service]
	Type=oneshot
	StandardOutput=journal+console
	ExecStart=/bin/sh -c 'cd /tmp/out && HOME=/root /bin/sh /tmp/out/cmd.sh > /tmp/out/cmd.out 2>&1; echo \$? > /tmp/out/cmd.rc; sync'
	ExecStartPost=/bin/systemctl --no-block poweroff
	EOF
	# The host's /tmp stays in sight (a checkout or build dir may lie
	# there): no tmpfs over it, and systemd-tmpfiles does not empty it
	# at boot (tmp.conf's "D /tmp" would, in the overlay).
	ln -sf /dev/null $u/tmp.mount
	mkdir -p $r/etc/tmpfiles.d
	echo 'd /tmp 1777 root root -' > $r/etc/tmpfiles.d/tmp.conf
	# The host root may say it is a container (/.dockerenv): this is a
	# machine, and systemd then takes its unit from the command line.
	rm -f $r/.dockerenv
	echo "lane-init: systemd runs the guest command, uptime $(cat /proc/uptime)"
	exec switch_root $r /lib/systemd/systemd --unit=lane.target
fi

echo "lane-init: running guest command, uptime $(cat /proc/uptime)"
chroot $r /bin/sh -c 'cd /tmp/out &&
	HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	/bin/sh /tmp/out/cmd.sh > /tmp/out/cmd.out 2>&1
	echo $? > /tmp/out/cmd.rc'
echo "lane-init: guest command exited $(cat $r/tmp/out/cmd.rc), uptime $(cat /proc/uptime)"
sync
umount $r/tmp/out
poweroff -f

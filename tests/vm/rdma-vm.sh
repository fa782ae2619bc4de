#!/bin/bash
# tests/vm/rdma-vm.sh — Soft-RoCE(rdma_rxe)VM:在沒有 RDMA 的核心上真正執行 RDMA 程式。
#
# 主機核心沒有 RDMA 時,這個腳本用 Debian 自己的核心套件(linux-image-amd64 依賴的那個
# linux-image-X.Y.Z-NN-amd64,只下載並以 dpkg -x 解開,絕不安裝到主機)、busybox-static、
# rdma-core 的函式庫與 rxe provider、perftest 與 rping,組出一個小小的 initramfs,
# 以 qemu 開機:載入模組、建立 rxe0、執行指定的腳本、回傳它的結束碼與輸出,然後一定關機。
#
# 用法(需要 root 才能用 apt-get download;快取建好後不需要):
#   tests/vm/rdma-vm.sh prepare                       下載並建立快取(核心、基礎 initramfs)
#   tests/vm/rdma-vm.sh run [-t 秒] [-f 檔案]… [-e 名稱=值]… 腳本
#                                                     單一 VM:在 VM 裡執行腳本
#   tests/vm/rdma-vm.sh run2 [-t 秒] [-f 檔案]… 腳本A 腳本B
#                                                     兩台 VM 以 qemu UDP socket 網路相連,
#                                                     A(10.0.0.1)執行腳本A,B(10.0.0.2)執行腳本B
#   tests/vm/rdma-vm.sh shell [-f 檔案]… [腳本]         互動:執行腳本(可省略)後進入 VM 的 shell
#   tests/vm/rdma-vm.sh info                          印出快取與加速方式
#
# -f 檔案 會放進 VM 的 /run/(在 PATH 裡);ELF 執行檔的 ldd 函式庫也會一起複製。
# -e 名稱=值 設定 VM 裡腳本的環境變數(例如 -e DEMO_SHORT=1)。
# 腳本在 VM 裡以 busybox sh 執行,可用的環境變數:KBS_IP(本機 eth0 位址)、
# KBS_PEER(run2 時對方的位址)、KBS_ROLE(single / a / b)。
# 腳本在主控台印出一行 KBS_LINK off(或 on)時,主機以 QMP 的 set_link 拔掉(插回)這台 VM
# 的網路線:VM 裡看到的是網卡失去載波,路由與位址都還在,就像交換器那一端斷了。
# 結束碼:腳本的結束碼;124 = 逾時;125 = VM 無法開機或建置失敗。
#
# 環境變數:KBS_VM_ACCEL=tcg|kvm 強制加速方式(預設自動偵測,KVM 真的能開機才用)。
#
# 快取在 tests/vm/cache(核心、基礎 initramfs、KVM 偵測結果),每次執行的暫存檔在 tests/vm/work。
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KBS_VM_CACHE:-$VM_DIR/cache}
WORK=${KBS_VM_WORK:-$VM_DIR/work}
# 基礎 initramfs 的格式版本:改了下面 build_base 的內容就加一,快取會自動重建
BASE_VERSION=7
MODULES="configfs crc32_generic ib_core ib_cm iw_cm rdma_cm ib_uverbs rdma_ucm udp_tunnel ip6_udp_tunnel rdma_rxe virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"
GUEST_TOOLS="rdma rping ib_send_lat ib_write_lat ib_read_lat ib_write_bw ib_send_bw ib_read_bw ibv_devinfo ibv_devices"

say() { printf '[VM] %s\n' "$*" >&2; }
die() {
	printf '[VM] 錯誤:%s\n' "$*" >&2
	exit 125
}

# 這次執行的暫存檔(中斷時也要刪掉;qemu 與本腳本同一個行程群組,會一起收到 Ctrl-C)
TMPS=()
trap 'rm -rf "${TMPS[@]}"' EXIT

# 任何沒預料到的失敗都要說出來(set -e 預設會默默結束)
trap 'printf "[VM] 錯誤:%s 第 %s 行的指令失敗:%s\n" "${BASH_SOURCE[0]##*/}" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# ---- 核心套件 ------------------------------------------------------------------
# 找出 linux-image-amd64 依賴的確切核心套件,下載並解開到快取
kernel_pkg_name() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

ensure_kernel() {
	mkdir -p "$CACHE"
	local pkg deb
	pkg=$(kernel_pkg_name || true)
	if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 &&
		! ls "$CACHE"/linux-image-*-amd64_*.deb >/dev/null 2>&1; then
		say "apt 還不知道 linux-image-amd64:先執行 apt-get update…"
		apt-get update -q >&2 || true
		pkg=$(kernel_pkg_name || true)
	fi
	if [ -n "$pkg" ]; then
		deb=$(ls "$CACHE/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
		if [ -z "$deb" ]; then
			command -v apt-get >/dev/null 2>&1 || die "找不到 apt-get,無法下載 Debian 核心套件 $pkg"
			say "下載 Debian 核心套件 $pkg(只下載與解開,不會安裝到主機)…"
			(cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
				die "apt-get download $pkg 失敗(需要網路與 Debian 套件庫;可先 sudo apt-get update)"
			deb=$(ls "$CACHE/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
		fi
	else
		# apt 不知道 linux-image-amd64(非 Debian 或沒有 apt-get update):用快取裡既有的
		deb=$(ls "$CACHE"/linux-image-*-amd64_*.deb 2>/dev/null | tail -n1 || true)
		[ -n "$deb" ] || die "apt 找不到 linux-image-amd64(不是 Debian?請先 sudo apt-get update)"
	fi
	[ -f "$deb" ] || die "找不到核心套件 .deb"
	KDEB=$deb
	local name
	name=$(basename "$deb" .deb)
	KROOT=$CACHE/$name
	if [ ! -f "$KROOT/.unpacked" ]; then
		say "解開 $(basename "$deb")…"
		rm -rf "$KROOT"
		mkdir -p "$KROOT"
		dpkg -x "$deb" "$KROOT" || die "dpkg -x 失敗"
		touch "$KROOT/.unpacked"
	fi
	KVER=$(ls "$KROOT/lib/modules" | head -n1)
	VMLINUZ=$KROOT/boot/vmlinuz-$KVER
	[ -f "$VMLINUZ" ] || die "核心套件裡沒有 boot/vmlinuz-$KVER"
}

# ---- initramfs -----------------------------------------------------------------
# copy_with_libs 目的根目錄 檔案…:複製執行檔到相同路徑,並複製它的 ldd 函式庫
copy_with_libs() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		{ ldd "$f" 2>/dev/null || true; } | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}' |
			while read -r lib; do
				[ -e "$root$lib" ] && continue
				mkdir -p "$root$(dirname "$lib")"
				cp -L "$lib" "$root$lib"
			done
	done
}

write_init() {
	cat >"$1/init" <<'EOF'
#!/bin/busybox sh
# VM 的 init:掛載、載入 RDMA 與 virtio 模組、設定網路、建立 rxe0、執行 /run/run.sh、關機
/bin/busybox --install -s /bin
export PATH=/run:/bin:/sbin:/usr/bin:/usr/sbin
mkdir -p /proc /sys /dev /tmp /run /var/run
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
kbs_arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
KBS_IP=$(kbs_arg kbs.ip)
KBS_PEER=$(kbs_arg kbs.peer)
KBS_ROLE=$(kbs_arg kbs.role)
KBS_TIMEOUT=$(kbs_arg kbs.timeout)
KBS_SHELL=$(kbs_arg kbs.shell)
export KBS_IP KBS_PEER KBS_ROLE KBS_SHELL HOME=/tmp
[ -f /run/env.sh ] && . /run/env.sh
for m in $(cat /etc/kbs-modules); do
	insmod "/lib/kbs-modules/$m.ko" || echo "[VM] 錯誤:載入模組 $m 失敗"
done
ip link set lo up
ip link set eth0 up
ip addr add "$KBS_IP/24" dev eth0
ulimit -l unlimited
if ! rdma link add rxe0 type rxe netdev eth0; then
	echo "[VM] 錯誤:rdma link add rxe0 失敗"
fi
# 等 rxe0 的 GID(IPv4 對應位址)就緒
i=0
while [ $i -lt 50 ] && ! grep -q 'ffff' /sys/class/infiniband/rxe0/ports/1/gids/1 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
echo KBS_READY
echo "[VM] rxe0 就緒:eth0 $KBS_IP,核心 $(uname -r)"
cd /tmp
if [ -f /run/run.sh ]; then
	timeout "${KBS_TIMEOUT:-100}" sh /run/run.sh
	rc=$?
else
	rc=0
fi
if [ "$KBS_SHELL" = 1 ]; then
	echo "[VM] 進入 VM 的 shell(離開:exit 或 Ctrl-D,VM 會關機)"
	setsid cttyhack sh -l
fi
echo "KBS_EXIT=$rc"
sync
poweroff -f
echo o >/proc/sysrq-trigger
EOF
	chmod +x "$1/init"
}

build_base() {
	local stamp="$BASE_VERSION $KVER"
	BASE=$CACHE/base-$KVER.cpio
	if [ -f "$BASE" ] && [ "$(cat "$BASE.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	say "建立基礎 initramfs(busybox、RDMA 模組、rdma-core、perftest、rping)…"
	local busybox t root m f
	busybox=$(command -v busybox) || die "找不到 busybox(sudo apt-get install busybox-static)"
	root=$(mktemp -d "$WORK/base.XXXXXX")
	TMPS+=("$root" "$BASE.tmp.$$")
	chmod 755 "$root" # 成為 VM 的 /:非 root 使用者也要能進入
	mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,lib/kbs-modules,usr/bin,usr/sbin}
	# busybox-static 沒有函式庫;若是動態版,copy_with_libs 會一起帶上它的函式庫
	copy_with_libs "$root" "$(readlink -f "$busybox")"
	cp -L "$busybox" "$root/bin/busybox"
	for m in $MODULES; do
		f=$(find "$KROOT/lib/modules/$KVER" -name "$m.ko" | head -n1)
		[ -n "$f" ] || die "核心套件裡找不到模組 $m.ko"
		cp "$f" "$root/lib/kbs-modules/"
	done
	echo "$MODULES" >"$root/etc/kbs-modules"
	for t in $GUEST_TOOLS; do
		f=$(command -v "$t") || die "找不到 $t(sudo make install-deps:perftest、rdmacm-utils、ibverbs-utils、iproute2)"
		copy_with_libs "$root" "$f"
	done
	# rxe provider(libibverbs 以 dlopen 載入,ldd 看不到)與它的 .driver 檔
	local prov
	prov=$(ls /usr/lib/*/libibverbs/librxe-rdmav*.so 2>/dev/null | head -n1) ||
		die "找不到 rxe provider(sudo apt-get install ibverbs-providers)"
	[ -n "$prov" ] || die "找不到 rxe provider(sudo apt-get install ibverbs-providers)"
	copy_with_libs "$root" "$prov"
	mkdir -p "$root/etc/libibverbs.d"
	cp /etc/libibverbs.d/rxe.driver "$root/etc/libibverbs.d/"
	# glibc 在 pthread_exit/cancel 時 dlopen libgcc_s
	f=$(ls /lib/*/libgcc_s.so.1 /usr/lib/*/libgcc_s.so.1 2>/dev/null | head -n1)
	[ -n "$f" ] && copy_with_libs "$root" "$f"
	echo "root:x:0:0:root:/tmp:/bin/sh" >"$root/etc/passwd"
	write_init "$root"
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$BASE.tmp.$$" || die "cpio 失敗"
	mv "$BASE.tmp.$$" "$BASE"
	echo "$stamp" >"$BASE.stamp"
	rm -rf "$root"
	say "基礎 initramfs 完成:$(du -h "$BASE" | cut -f1)"
}

# make_run_cpio 輸出檔 腳本 檔案…:每次執行的第二段 cpio(/run/run.sh 與 -f 檔案)
make_run_cpio() {
	local out=$1 script=$2 root f
	shift 2
	root=$(mktemp -d "$WORK/run.XXXXXX")
	TMPS+=("$root")
	chmod 755 "$root"
	mkdir -p "$root/run"
	if [ -n "$script" ]; then
		cp "$script" "$root/run/run.sh"
	fi
	local e
	for e in "${ENVS[@]}"; do
		printf "export %s='%s'\n" "${e%%=*}" "${e#*=}" >>"$root/run/env.sh"
	done
	for f in "$@"; do
		[ -f "$f" ] || die "找不到檔案 $f"
		cp -L "$f" "$root/run/"
		if [ "$(head -c 4 "$f" | tail -c 3)" = ELF ]; then
			copy_with_libs "$root" "$(readlink -f "$f")"
		fi
	done
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$out"
	rm -rf "$root"
}

prepare() {
	command -v qemu-system-x86_64 >/dev/null 2>&1 || die "找不到 qemu-system-x86_64(sudo apt-get install qemu-system-x86)"
	command -v cpio >/dev/null 2>&1 || die "找不到 cpio(sudo apt-get install cpio)"
	mkdir -p "$CACHE" "$WORK"
	# 同時有好幾個測試在跑時,只讓一個去下載 / 建立快取
	exec 9>"$CACHE/.lock"
	if command -v flock >/dev/null 2>&1 && ! flock -w 300 9; then
		die "等快取鎖(tests/vm/cache/.lock)超過 300 秒"
	fi
	ensure_kernel
	build_base
	choose_accel
	exec 9>&-
}

# ---- 加速方式 ------------------------------------------------------------------
# 有些 /dev/kvm(例如巢狀的半虛擬 KVM)無法執行一般核心:-cpu host 會因 MSR 中止,
# 其他 CPU 型號會卡住。所以真的開機一次(有時間上限)才決定用 KVM,結果存在快取。
choose_accel() {
	if [ -n "${KBS_VM_ACCEL:-}" ]; then
		ACCEL=$KBS_VM_ACCEL
		return
	fi
	local f
	f=$CACHE/accel-$(uname -r)-$KVER
	if [ -f "$f" ]; then
		ACCEL=$(cat "$f")
		return
	fi
	ACCEL=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		say "偵測 KVM 是否真的能開機(最多 20 秒)…"
		local out rc=0
		out=$(mktemp "$WORK/kvmprobe.XXXXXX")
		printf 'echo KVM_OK\n' >"$out.sh"
		# 子 shell 並丟掉 stderr:qemu 中止(Aborted)的訊息是預期中的
		(ACCEL=kvm boot_one "$out.log" "$out.sh" 20 "kbs.ip=10.0.2.15 kbs.role=probe" \
			-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0) 2>/dev/null || rc=$?
		if [ "$rc" = 0 ] && grep -q KVM_OK "$out.log"; then
			ACCEL=kvm
		fi
		rm -f "$out" "$out.sh" "$out.log" "$out.log.cpio" "$out.log.initrd"
	fi
	echo "$ACCEL" >"$f"
	if [ "$ACCEL" = kvm ]; then
		say "使用 KVM 加速"
	else
		say "KVM 無法使用(或無法開機一般核心),改用 TCG 軟體模擬(較慢但可靠)"
	fi
}

accel_args() {
	if [ "${ACCEL:-tcg}" = kvm ]; then
		echo "-accel kvm -cpu host"
	else
		echo "-accel tcg -cpu max"
	fi
}

# ---- 開機 ----------------------------------------------------------------------
# set_link QMP插座 on|off:切換 VM 網卡(netdev n0)的連線狀態
set_link() {
	local up=false
	[ "$2" = on ] && up=true
	if printf '{"execute":"qmp_capabilities"}\n{"execute":"set_link","arguments":{"name":"n0","up":%s}}\n' "$up" |
		nc -N -U "$1" >/dev/null 2>&1; then
		say "網路線:${2}(QMP set_link)"
	else
		say "錯誤:無法以 QMP 切換網卡連線(需要 netcat-openbsd 的 nc -U)"
	fi
}

# console_watch QMP插座:讀 VM 的主控台輸出;處理 KBS_LINK,KBS_STREAM 時即時印出腳本的輸出
console_watch() {
	local qmp=$1 line go=0
	while IFS= read -r line; do
		case $line in
		KBS_READY*)
			go=1
			continue
			;;
		KBS_EXIT=*) go=0 ;;
		"KBS_LINK off"* | "KBS_LINK on"*) set_link "$qmp" "${line#KBS_LINK }" ;;
		esac
		if [ -n "${KBS_STREAM:-}" ] && [ $go = 1 ]; then
			printf '%s\n' "$line"
		fi
	done
}

# boot_one 記錄檔 腳本 逾時秒數 核心參數 qemu網路參數…
# 非互動:輸出(去掉 \r)寫到記錄檔,回傳腳本的結束碼(124 逾時、125 開機失敗)
boot_one() {
	local log=$1 script=$2 secs=$3 cmdline=$4 smp=${KBS_VM_SMP:-1} rc=0
	shift 4
	local initrd=$log.initrd qmp=$log.qmp
	TMPS+=("$qmp")
	make_run_cpio "$log.cpio" "$script" "${FILES[@]}"
	cat "$BASE" "$log.cpio" >"$initrd"
	rm -f "$log.cpio"
	# shellcheck disable=SC2046 # accel_args 刻意分詞
	timeout -k 3 "$((secs + 15))" qemu-system-x86_64 $(accel_args) -m 512 -smp "$smp" \
		-nodefaults -no-user-config -display none -monitor none -serial stdio -no-reboot \
		-kernel "$VMLINUZ" -initrd "$initrd" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 tsc=reliable $cmdline kbs.timeout=$secs" \
		-qmp "unix:$qmp,server=on,wait=off" \
		"$@" </dev/null 2>&1 | sed -u 's/\r//g' | tee "$log" | console_watch "$qmp"
	rc=${PIPESTATUS[0]}
	rm -f "$initrd" "$qmp"
	local exit_line
	exit_line=$(grep -a '^KBS_EXIT=' "$log" | tail -n1 || true)
	if [ -n "$exit_line" ]; then
		return "${exit_line#KBS_EXIT=}"
	fi
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		return 124
	fi
	if grep -aq KBS_READY "$log"; then
		return 124
	fi
	return 125
}

# 把 VM 的輸出(KBS_READY 之後、KBS_EXIT 之前)印出來
show_output() {
	local log=$1 prefix=${2:-}
	awk -v p="$prefix" '/^KBS_EXIT=/ {exit} go {print p $0} /^KBS_READY/ {go = 1}' "$log"
	if ! grep -aq KBS_READY "$log"; then
		say "VM 沒有開機成功,最後的主控台輸出:"
		tail -n 20 "$log" | sed "s/^/$prefix/" >&2
	fi
}

udp_port_free() { ! ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }
pick_udp_port() {
	local p
	for ((;;)); do
		p=$((30000 + RANDOM % 20000))
		udp_port_free "$p" && udp_port_free "$((p + 1))" && {
			echo "$p"
			return
		}
	done
}

cmd_run() {
	local script=$1 log rc=0 t0
	[ -f "$script" ] || die "找不到腳本 $script"
	prepare
	log=$(mktemp "$WORK/vm.XXXXXX")
	TMPS+=("$log" "$log.cpio" "$log.initrd")
	t0=$(date +%s)
	say "開機(單一 VM,$ACCEL,上限 ${TIMEOUT} 秒)…"
	KBS_STREAM=1 KBS_VM_SMP=${KBS_VM_SMP:-2} boot_one "$log" "$script" "$TIMEOUT" "kbs.ip=10.0.2.15 kbs.role=single" \
		-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 || rc=$?
	if ! grep -aq KBS_READY "$log"; then
		show_output "$log"
	fi
	report_rc "$rc" "$t0"
	rm -f "$log"
	return "$rc"
}

report_rc() {
	local rc=$1 t0=$2 secs
	secs=$(($(date +%s) - t0))
	case $rc in
	0) say "VM 已關機,腳本成功(共 ${secs} 秒)" ;;
	124) say "VM 逾時(${secs} 秒),已強制關閉" ;;
	125) say "VM 無法開機(${secs} 秒)" ;;
	*) say "VM 已關機,腳本結束碼 $rc(共 ${secs} 秒)" ;;
	esac
}

cmd_run2() {
	local sa=$1 sb=$2 la lb pa pb rca=0 rcb=0 t0 pida
	[ -f "$sa" ] || die "找不到腳本 $sa"
	[ -f "$sb" ] || die "找不到腳本 $sb"
	prepare
	la=$(mktemp "$WORK/vmA.XXXXXX")
	lb=$(mktemp "$WORK/vmB.XXXXXX")
	TMPS+=("$la" "$la.cpio" "$la.initrd" "$lb" "$lb.cpio" "$lb.initrd")
	pa=$(pick_udp_port)
	pb=$((pa + 1))
	t0=$(date +%s)
	say "開機兩台 VM(A 10.0.0.1、B 10.0.0.2,以 qemu UDP socket 相連:127.0.0.1:$pa <-> $pb,$ACCEL)…"
	boot_one "$la" "$sa" "$TIMEOUT" "kbs.ip=10.0.0.1 kbs.peer=10.0.0.2 kbs.role=a" \
		-netdev "socket,id=n0,udp=127.0.0.1:$pb,localaddr=127.0.0.1:$pa" \
		-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01 &
	pida=$!
	boot_one "$lb" "$sb" "$TIMEOUT" "kbs.ip=10.0.0.2 kbs.peer=10.0.0.1 kbs.role=b" \
		-netdev "socket,id=n0,udp=127.0.0.1:$pa,localaddr=127.0.0.1:$pb" \
		-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:02 || rcb=$?
	wait "$pida" || rca=$?
	echo "---- VM A(10.0.0.1)----"
	show_output "$la" "[A] "
	echo "---- VM B(10.0.0.2)----"
	show_output "$lb" "[B] "
	say "VM A 結束碼 $rca,VM B 結束碼 $rcb"
	report_rc "$([ "$rca" = 0 ] && echo "$rcb" || echo "$rca")" "$t0"
	rm -f "$la" "$lb"
	[ "$rca" = 0 ] || return "$rca"
	return "$rcb"
}

cmd_shell() {
	local script=${1:-} initrd
	if [ ! -t 0 ]; then
		# 沒有終端機(CI、管線):不進入 shell,免得 VM 永遠等輸入;執行完腳本就關機
		say "標準輸入不是終端機:只執行腳本,不進入 VM 的 shell"
		[ -n "$script" ] || script=/dev/null
		cmd_run "$script"
		return
	fi
	prepare
	initrd=$(mktemp "$WORK/initrd.XXXXXX")
	TMPS+=("$initrd" "$initrd.run")
	make_run_cpio "$initrd.run" "$script" "${FILES[@]}"
	cat "$BASE" "$initrd.run" >"$initrd"
	rm -f "$initrd.run"
	say "開機互動 VM($ACCEL)。離開 shell 即關機;卡住時按 Ctrl-A 再按 X 強制結束 qemu。"
	local rc=0
	# shellcheck disable=SC2046 # accel_args 刻意分詞
	qemu-system-x86_64 $(accel_args) -m 512 -smp 2 -nodefaults -no-user-config -display none -serial mon:stdio -no-reboot \
		-kernel "$VMLINUZ" -initrd "$initrd" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 kbs.ip=10.0.2.15 kbs.role=single kbs.shell=1 kbs.timeout=$TIMEOUT" \
		-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0 || rc=$?
	rm -f "$initrd"
	return "$rc"
}

# ---- 主程式 --------------------------------------------------------------------
[ $# -gt 0 ] || {
	usage >&2
	exit 64
}
CMD=$1
shift
TIMEOUT=120
FILES=()
ENVS=()
while [ $# -gt 0 ]; do
	case $1 in
	-t)
		[ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || {
			echo "錯誤:-t 需要秒數" >&2
			exit 64
		}
		TIMEOUT=$2
		shift 2
		;;
	-f)
		[ $# -ge 2 ] || {
			echo "錯誤:-f 需要檔案" >&2
			exit 64
		}
		FILES+=("$2")
		shift 2
		;;
	-e)
		[ $# -ge 2 ] && [[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*=[^\']*$ ]] || {
			echo "錯誤:-e 需要 名稱=值(值不能含單引號)" >&2
			exit 64
		}
		ENVS+=("$2")
		shift 2
		;;
	--)
		shift
		break
		;;
	-*)
		echo "錯誤:不認得的選項 $1(tests/vm/rdma-vm.sh -h 看說明)" >&2
		exit 64
		;;
	*) break ;;
	esac
done

case $CMD in
prepare) prepare ;;
info)
	prepare
	echo "核心套件:$(basename "$KDEB")"
	echo "核心:$VMLINUZ"
	echo "基礎 initramfs:$BASE($(du -h "$BASE" | cut -f1))"
	echo "加速:$ACCEL"
	;;
run)
	[ $# -eq 1 ] || {
		echo "錯誤:run 需要一個腳本" >&2
		exit 64
	}
	cmd_run "$1"
	;;
run2)
	[ $# -eq 2 ] || {
		echo "錯誤:run2 需要兩個腳本(A 與 B)" >&2
		exit 64
	}
	cmd_run2 "$1" "$2"
	;;
shell)
	[ $# -le 1 ] || {
		echo "錯誤:shell 最多一個腳本" >&2
		exit 64
	}
	cmd_shell "${1:-}"
	;;
-h | --help | help) usage ;;
*)
	echo "錯誤:不認得的子指令 $CMD(prepare / run / run2 / shell / info)" >&2
	exit 64
	;;
esac

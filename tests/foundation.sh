#!/bin/bash
# tests/foundation.sh — 建置系統、測試驅動程式與腳本本身的檢查
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT" || exit 1

# 以 PKG_CONFIG 包裝程式隱藏 liburing:make 仍成功,並印一行說明缺少 liburing-dev
t_make_skips_missing_lib() {
	local real
	real=$(command -v pkg-config) || skip "找不到 pkg-config"
	pkg-config --exists liburing || skip "本機沒有 liburing,無法模擬「隱藏」它"
	[ -f io_uring_async.c ] || skip "io_uring_async.c 尚不存在"
	cat >"$T_TMP/pkg-config" <<EOS
#!/bin/sh
for a in "\$@"; do [ "\$a" = liburing ] && exit 1; done
exec $real "\$@"
EOS
	chmod +x "$T_TMP/pkg-config"
	make -C "$T_ROOT" --no-print-directory O="$T_TMP/build" PKG_CONFIG="$T_TMP/pkg-config" all >"$T_TMP/make.out" 2>&1 ||
		fail "隱藏 liburing 後 make all 失敗:$(tail -n 3 "$T_TMP/make.out" | tr '\n' ' ')"
	cat "$T_TMP/make.out"
	expect_eq "$(grep -c '^略過 io_uring_async:.*liburing-dev' "$T_TMP/make.out")" 1 "略過訊息行數"
	[ ! -e "$T_TMP/build/io_uring_async" ] || fail "liburing 被隱藏時不應建置 io_uring_async"
}

t_make_explicit_target_fails_when_missing() {
	cat >"$T_TMP/pkg-config" <<'EOS'
#!/bin/sh
exit 1
EOS
	chmod +x "$T_TMP/pkg-config"
	expect_fail make -C "$T_ROOT" --no-print-directory O="$T_TMP/build" PKG_CONFIG="$T_TMP/pkg-config" rdma
	expect_match "$(cat "$T_TMP/out")" '無法建置 rdma_communication' "錯誤訊息"
	make -C "$T_ROOT" --no-print-directory O="$T_TMP/build" PKG_CONFIG="$T_TMP/pkg-config" all >"$T_TMP/all.out" 2>&1 ||
		fail "沒有任何函式庫時 make all 應該仍然成功"
	expect_eq "$(grep -c '^略過 ' "$T_TMP/all.out" | awk '$1>=4{print "ok"}')" ok "四個程式都應印出略過原因"
}

t_check_deps_table() {
	expect_exit 0 make -s -C "$T_ROOT" --no-print-directory check-deps
	local lib
	for lib in liburing libxdp libbpf libibverbs librdmacm libdpdk; do
		expect_file_match "$T_TMP/out" "^$lib " "check-deps 表格缺少 $lib"
	done
	for word in 核心版本 io_uring AF_XDP hugepages RDMA; do
		expect_file_match "$T_TMP/out" "$word" "check-deps 缺少 $word"
	done
}

t_check_deps_reports_missing() {
	printf '#!/bin/sh\nexit 1\n' >"$T_TMP/pkg-config"
	chmod +x "$T_TMP/pkg-config"
	expect_exit 0 make -s -C "$T_ROOT" --no-print-directory PKG_CONFIG="$T_TMP/pkg-config" check-deps
	expect_eq "$(grep -c '未安裝' "$T_TMP/out" | awk '$1>=6{print "ok"}')" ok "六個函式庫都應顯示未安裝"
}

t_sanitize_build() {
	build_asan || fail "make SANITIZE=1 失敗:$(tail -n 5 "$T_LOGDIR/build-asan.log" | tr '\n' ' ')"
	local p built=0
	for p in io_uring_async af_xdp_socket dpdk_packet_processing rdma_communication; do
		[ -x "build/asan/$p" ] || continue
		built=$((built + 1))
		[ "$(nm -an "build/asan/$p" 2>/dev/null | grep -c __asan_init)" -gt 0 ] || fail "build/asan/$p 沒有 ASan"
	done
	[ "$built" -gt 0 ] || skip "還沒有可建置的程式"
}

t_scripts_syntax() {
	local f
	for f in run_tests.sh .ci/run tests/*.sh tests/vm/*.sh bench/*.sh scripts/*.sh demo/*.sh; do
		[ -f "$f" ] || continue
		bash -n "$f" || fail "$f 語法錯誤"
	done
}

t_shellcheck() {
	need_cmd shellcheck
	local files=()
	local f
	for f in run_tests.sh .ci/run tests/*.sh tests/vm/*.sh bench/*.sh scripts/*.sh demo/*.sh; do
		[ -f "$f" ] && files+=("$f")
	done
	shellcheck -x -S warning "${files[@]}" || fail "shellcheck 有警告"
}

t_no_password() {
	# 模式以片段組合,避免本檔自己被比對到
	local s='sudo' p='pass'"word"
	# 第一個樣式(從標準輸入讀密碼的 -S 選項)已涵蓋「把密碼 pipe 進去」;單純把資料 pipe 給 sudo 的指令不算
	local pats=("$s -S" "\\[$s\\] $p" "$p for " "${p^^}=")
	local pat hits
	for pat in "${pats[@]}"; do
		hits=$(git ls-files -z 2>/dev/null | xargs -0 grep -lE -- "$pat" 2>/dev/null || true)
		[ -z "$hits" ] || fail "檔案含疑似密碼字串(/$pat/):$hits"
	done
	[ -n "$(git ls-files 2>/dev/null)" ] || skip "不在 git 工作目錄中"
}

t_run_tests_usage() {
	expect_exit 0 ./run_tests.sh -h
	expect_file_match "$T_TMP/out" '用法' "-h 應印出中文說明"
	expect_exit 64 ./run_tests.sh no_such_suite
	expect_exit 64 ./run_tests.sh -x
}

t_run_tests_full_needs_root() {
	is_root || {
		expect_exit 1 ./run_tests.sh -f foundation
		expect_file_match "$T_TMP/out" 'root' "訊息應說明需要 root"
		return
	}
	expect_exit 1 as_user ./run_tests.sh -f foundation
	expect_file_match "$T_TMP/out" 'root' "訊息應說明需要 root"
}

t_makefile_targets() {
	local t
	make -qp -C "$T_ROOT" 2>/dev/null >"$T_TMP/db" || true
	for t in all io_uring_async io_uring af_xdp dpdk rdma check-deps install-deps setup-hugepages test demo clean; do
		grep -q "^$t:" "$T_TMP/db" || fail "Makefile 缺少目標 $t"
	done
}

t_root_targets_refuse_nonroot() {
	is_root || return 0
	expect_fail as_user bash scripts/install-deps.sh
	expect_file_match "$T_TMP/out" 'sudo make install-deps' "install-deps 非 root 訊息"
	expect_fail as_user env HUGEPAGES=4 bash scripts/setup-hugepages.sh
	expect_file_match "$T_TMP/out" 'root' "setup-hugepages 非 root 訊息"
	expect_exit 64 env HUGEPAGES=abc bash scripts/setup-hugepages.sh
}

t_setup_hugepages() {
	need_full
	need_root
	local sys=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages orig
	[ -w "$sys" ] || skip "此核心沒有 2 MiB hugepage"
	orig=$(cat "$sys")
	on_exit "echo $orig > $sys"
	local want=$((orig + 8))
	expect_exit 0 make -s -C "$T_ROOT" --no-print-directory setup-hugepages HUGEPAGES=$want
	expect_eq "$(cat "$sys")" "$want" "nr_hugepages"
	grep -q ' hugetlbfs ' /proc/mounts || fail "hugetlbfs 沒有掛載"
	expect_file_match "$T_TMP/out" "實得 $want 頁" "結果訊息"
}

check make_skips_missing_lib t_make_skips_missing_lib
check make_explicit_target_fails t_make_explicit_target_fails_when_missing
check check_deps_table t_check_deps_table
check check_deps_reports_missing t_check_deps_reports_missing
check sanitize_build t_sanitize_build
check scripts_syntax t_scripts_syntax
check shellcheck t_shellcheck
check no_password t_no_password
check run_tests_usage t_run_tests_usage
check run_tests_full_needs_root t_run_tests_full_needs_root
check makefile_targets t_makefile_targets
check root_targets_refuse_nonroot t_root_targets_refuse_nonroot
check setup_hugepages t_setup_hugepages

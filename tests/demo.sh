#!/bin/bash
# tests/demo.sh — make demo 與比較表產生器的測試
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT" || exit 1

FIXTURE=$T_ROOT/tests/data/comparison

# 以錄下的結果(tests/data/comparison,每列 5 次量測,中位數手算過)測試比較表
t_comparison_table() {
	bash scripts/comparison.sh "$FIXTURE" "$T_TMP/out.d" >"$T_TMP/table" 2>&1 || fail "comparison.sh 失敗"
	cat "$T_TMP/table"
	local md=$T_TMP/out.d/comparison.md
	[ -s "$md" ] || fail "沒有 comparison.md"
	# 總覽:種子的五列、四欄(另加一欄宣稱與原因)
	local glance
	glance=$(sed -n '/^## 總覽/,/^## 明細/p' "$md" | grep '^| ')
	expect_eq "$(head -n1 <<<"$glance")" "| 技術 | 延遲 p50(p99) | 吞吐量 | CPU 使用率(每次請求/封包/操作) | 複雜度(實際計算) | 種子宣稱 → 這台機器為何不同 |" "總覽表頭"
	expect_eq "$(tail -n +2 <<<"$glance" | cut -d'|' -f2 | tr -d ' ' | tr '\n' ' ')" "傳統Socket io_uring AF_XDP DPDK RDMA " "總覽的五列"
	# 手算:epoll 1 條連線 p50 = 58 59 60 61 62 的中位數 60;io_uring 57..61 的中位數 59,
	# 差距 1 小於兩邊的 min–max 寬度 4:不顯著(≈)
	expect_match "$glance" '^\| io_uring \| echo:59\.0 µs\(p99 90\.0\);傳統 60\.0,≈0\.98x<br>io_uring echo,1 條連線<br>檔案:' "io_uring 延遲格(中位數、不顯著、說出是什麼工作)"
	expect_match "$glance" '\| echo:4\.00M req/s;傳統 3\.00M,1\.33x<br>io_uring echo,管線化<br>檔案:100k IOPS;傳統 20k,5\.00x<br>io_uring 檔案,QD 32 \|' "io_uring 吞吐量格:echo 與檔案並列"
	expect_match "$glance" '\| echo:5000 ns/次;傳統 6000,0\.83x<br>io_uring echo,50 條連線<br>檔案:3000 ns/次;傳統 6000,0\.50x<br>' "io_uring CPU 格(差距 1000 大於寬度 400:顯著;檔案對執行緒池)"
	expect_match "$glance" '^\| 傳統 Socket \| 60\.0 µs\(p99 100\)<br>epoll echo,1 條連線 \|' "傳統 socket 列"
	expect_match "$glance" '^\| AF_XDP \| 10\.0 µs\(p99 30\.0\);傳統 7\.00,1\.43x<br>AF_XDP respond busy-poll \(veth\) \| 1\.00M pps;傳統 300k,3\.33x<br>AF_XDP rxdrop native \(veth\) \| 650 ns/次;傳統 3000,0\.22x<br>' "AF_XDP 列"
	expect_match "$glance" '^\| AF_XDP \|.*→ 較差的格:延遲。veth' "較差的格在最後一欄說出來"
	expect_match "$glance" '^\| io_uring \|.*→ 在這裡的公平情境下沒有顯著較差的格' "沒有較差的格"
	expect_match "$glance" '^\| RDMA \| 略過 \| 略過 \| 略過 \| [0-9]+ 行、[0-9]+ 種 API 呼叫;.*\| 略過:找不到 qemu-system-x86_64 \|$' "略過的技術與原因"
	expect_match "$glance" '^\| io_uring \|.*\| [0-9]+ 行、[0-9]+ 種 API 呼叫;' "複雜度是算出來的"
	# 明細:中位數與 min–max
	expect_file_match "$md" '^\| io_uring echo,50 條連線 \| 旁路 \| 5 \| - \| - \| 160k \(160k–160k\) req/s \| 5000 \(4900–5100\) \| epoll echo,50 條連線 \| 1\.07x \| - \| 0\.83x \| syscalls_per_msg=0\.30 \(0\.20–0\.40\) \|' "明細的中位數、min–max 與佐證"
	expect_file_match "$md" '^\| ours macswap\+parse \(pcap\) \| 旁路 \| 5 .*\| testpmd macswap \(pcap\) \| 0\.85x \|' "對參考工具的比值"
	expect_file_match "$md" '^機器:.*vCPU.*Linux' "機器資訊"
	# 「該用哪一個?」由表與曲線算出:贏的格、交叉點(fixture 的曲線)
	expect_file_match "$md" '^- \*\*io_uring\*\*:在這裡贏的:.*吞吐量 5\.00x\(io_uring 檔案,QD 32 對 pread 1 執行緒' "該用哪一個:io_uring 贏的格"
	expect_file_match "$md" '^  - io_uring 對 pread 1 執行緒\(IOPS.*從 QD 4 起較好' "該用哪一個:引用曲線的交叉點"
	expect_file_match "$md" '^- \*\*DPDK\*\*:總覽的格子裡沒有顯著贏的' "沒有贏的格時照實說"
	local js=$T_TMP/out.d/comparison.json
	[ -s "$js" ] || fail "沒有 comparison.json"
	expect_file_match "$js" '"cpu_ns": \{"median": 5000, "min": 4900, "max": 5100\}' "JSON 的中位數與範圍"
	expect_file_match "$js" '"rdma": "找不到 qemu-system-x86_64"' "JSON 的略過原因"
	if command -v python3 >/dev/null 2>&1; then
		python3 -m json.tool "$js" >/dev/null || fail "comparison.json 不是合法的 JSON"
	fi
}

# 圖:有中文字型時一定畫出來,而且 gnuplot 不能有任何警告(缺字型、缺字元都會讓 comparison.sh 失敗)
t_comparison_chart() {
	need_cmd gnuplot fc-list
	fc-list : family | grep -c 'Noto Sans CJK' >/dev/null || skip "沒有中文字型 Noto Sans CJK(sudo make install-deps)"
	bash scripts/comparison.sh "$FIXTURE" "$T_TMP/out.d" >"$T_TMP/table" 2>&1 || fail "comparison.sh 失敗:$(grep -m1 注意 "$T_TMP/table")"
	[ -s "$T_TMP/out.d/comparison.png" ] || fail "沒有 comparison.png"
	head -c 8 "$T_TMP/out.d/comparison.png" | grep -q PNG || fail "comparison.png 不是 PNG"
	grep -q '字型或字元警告' "$T_TMP/table" && fail "gnuplot 的字型或字元警告"
	return 0
}

# 沒有中文字型:略過圖並說明原因,不畫出亂碼
t_comparison_chart_no_font() {
	need_cmd gnuplot
	printf '<?xml version="1.0"?><fontconfig></fontconfig>\n' >"$T_TMP/empty-fonts.conf"
	FONTCONFIG_FILE=$T_TMP/empty-fonts.conf bash scripts/comparison.sh "$FIXTURE" "$T_TMP/out.d" >"$T_TMP/table" 2>&1 ||
		fail "沒有字型時 comparison.sh 應該成功(只略過圖)"
	cat "$T_TMP/table"
	expect_file_match "$T_TMP/table" '沒有中文字型.*略過 comparison.png' "略過原因"
	[ ! -e "$T_TMP/out.d/comparison.png" ] || fail "沒有字型時不應該畫圖"
}

# 曲線:以手算過的點(tests/data/comparison/curves.points.tsv,每點 5 次:中位數 ± 一半與整個間距)
t_curves() {
	bash scripts/curves.sh "$FIXTURE" "$T_TMP/out.d" >"$T_TMP/curves" 2>&1 || fail "curves.sh 失敗:$(tail -n1 "$T_TMP/curves")"
	cat "$T_TMP/curves"
	local md=$T_TMP/out.d/curves.md
	[ -s "$md" ] || fail "沒有 curves.md"
	# 每點的中位數與 min–max:io_uring QD 4 = 59000 60000 60500 61000 → 60k(59k–61k)
	expect_file_match "$md" '^\| io_uring \| 20k\(20k–20k\) \| 60k\(59k–61k\) \| 100k\(98k–102k\) \| 110k\(108k–112k\) \| 缺 \|$' "io_uring 的 IOPS 列(QD 128 五次都是「-」:缺,不是 0)"
	expect_file_match "$md" '^\| TCP \| 180\(170–190\) \| 190\(180–200\) \| 305\(300–310\) \[n=2\] \| 4000\(3900–4100\) \|$' "只量到 2 次的點標出次數"
	# 交叉點(手算):
	#   QD 1:20000 對 20000,差 0 < 寬度 2000 → ≈;QD 4 起 3.00x、5.00x、5.50x 都顯著較好;QD 128 缺
	expect_file_match "$T_TMP/curves" 'io_uring 對 pread 1 執行緒\(IOPS,.*\):從 QD 4 起較好,之前不是。逐點: 1=≈1\.00x 4=3\.00x 16=5\.00x 32=5\.50x 128=缺' "檔案 IOPS 的交叉點"
	#   1 條連線 20000 對 19000(寬度 2000 > 差 1000:≈);100 條 12000 對 11000(寬度 400 < 1000:較差 1.09x);
	#   10000 條 9000 對 10000(寬度 200 < 1000:較好 0.90x)
	expect_file_match "$T_TMP/curves" 'io_uring 對 epoll\(CPU ns/請求,.*\):從 10000 條連線 起較好,之前不是。逐點: 1=≈1\.05x 100=1\.09x 10000=0\.90x' "網路 CPU 的交叉點"
	#   64 B 0.28x、4096 B 0.32x 較好,65536 B WRITE 缺,1 MiB 1.25x 較差
	expect_file_match "$T_TMP/curves" 'WRITE 對 TCP\(延遲 p50 µs,.*\):到 4096 B 為止較好,之後不是。逐點: 64=0\.28x 4096=0\.32x 65536=缺 1048576=1\.25x' "RDMA 延遲的交叉點"
	# 沒有資料的指標不說話(fixture 沒有 RDMA 頻寬)
	grep -q 'WRITE 對 TCP(頻寬' "$T_TMP/curves" && fail "沒有資料的指標不應該有交叉點句子"
	if command -v gnuplot >/dev/null 2>&1 && fc-list : family 2>/dev/null | grep -c 'Noto Sans CJK' >/dev/null; then
		head -c 8 "$T_TMP/out.d/curves-io_uring.png" | grep -q PNG || fail "沒有 curves-io_uring.png"
		head -c 8 "$T_TMP/out.d/curves-rdma.png" | grep -q PNG || fail "沒有 curves-rdma.png"
	else
		expect_file_match "$T_TMP/curves" '略過曲線圖' "沒有 gnuplot 或中文字型時說明略過"
	fi
	# 沒有字型:略過曲線圖並說明原因
	printf '<?xml version="1.0"?><fontconfig></fontconfig>\n' >"$T_TMP/empty-fonts.conf"
	rm -rf "$T_TMP/nf"
	FONTCONFIG_FILE=$T_TMP/empty-fonts.conf bash scripts/curves.sh "$FIXTURE" "$T_TMP/nf" >"$T_TMP/nofont" 2>&1 ||
		fail "沒有字型時 curves.sh 應該成功(只略過圖)"
	expect_file_match "$T_TMP/nofont" '沒有中文字型.*略過曲線圖|沒有 gnuplot' "沒有字型時的略過原因"
	[ -z "$(ls "$T_TMP"/nf/curves-*.png 2>/dev/null)" ] || fail "沒有字型時不應該畫曲線圖"
}

t_comparison_no_input() {
	expect_fail bash scripts/comparison.sh "$T_TMP/empty" "$T_TMP/o"
	expect_file_match "$T_TMP/out" '沒有任何結果' "沒有結果時的訊息"
}

# make demo 的精簡版(CI 的完整模式至少跑一次),必須以 0 結束並印出比較表
t_make_demo_short() {
	need_full
	need_root
	DEMO_SHORT=1 make -s -C "$T_ROOT" --no-print-directory demo >"$T_TMP/demo" 2>&1
	local rc=$?
	cat "$T_TMP/demo"
	[ "$rc" -eq 0 ] || fail "make demo 結束碼 $rc:$(grep -m1 -E '失敗' "$T_TMP/demo")"
	expect_file_match "$T_TMP/demo" '在這台機器上量到的比較表' "比較表標題"
	expect_file_match "$T_TMP/demo" '^\| 技術 \| 延遲 p50' "以總覽表結束"
	expect_match "$(grep '^| ' "$T_TMP/demo" | tail -n 5 | cut -d'|' -f2 | tr -d ' ' | tr '\n' ' ')" "^傳統Socket io_uring AF_XDP DPDK RDMA $" "最後是總覽的五列"
	[ -s "$T_ROOT/results/demo/comparison.md" ] || fail "沒有 results/demo/comparison.md"
	# 示範結束後不能留下命名空間或程式
	! ip netns list | grep -q "^kbs-" || fail "make demo 留下了命名空間:$(ip netns list | grep '^kbs-' | tr '\n' ' ')"
	! pgrep -x af_xdp_socket >/dev/null || fail "make demo 留下了 af_xdp_socket"
	! pgrep -x io_uring_async >/dev/null || fail "make demo 留下了 io_uring_async"
}

check comparison_table t_comparison_table
check comparison_chart t_comparison_chart
check comparison_chart_no_font t_comparison_chart_no_font
check comparison_no_input t_comparison_no_input
check curves t_curves
check make_demo_short t_make_demo_short

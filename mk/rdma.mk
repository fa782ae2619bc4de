# mk/rdma.mk — RDMA(rdma_communication)的額外目標,由頂層 Makefile include。
#
#   make rdma-vm     開一個 Soft-RoCE VM(qemu,Debian 核心套件),執行示範,
#                    然後留在 VM 的 shell 裡讓你自己試(exit 離開並關機)。
#                    第一次會以 apt-get download 下載核心套件(需要 root 或可寫的 tests/vm/cache)。
#   make rdma-vm-run VM_SCRIPT=腳本   在 VM 裡執行一個腳本後關機(非互動)

# 測試用的惡意客戶端(tests/tools/rdma_hostile.c)需要 rdma-core
needs_rdma_hostile := libibverbs librdmacm

# 本檔在頂層 Makefile 的 all: 之前被 include:不能讓這裡的目標變成預設目標
_rdma_saved_goal := $(.DEFAULT_GOAL)

.PHONY: rdma-vm rdma-vm-run

rdma-vm: $(O)/rdma_communication $(O)/bench/rdma_tcp_pingpong
	@bash tests/vm/rdma-vm.sh shell -f $(O)/rdma_communication -f $(O)/bench/rdma_tcp_pingpong tests/vm/guest-demo.sh

VM_SCRIPT ?= tests/vm/guest-demo.sh
rdma-vm-run: $(O)/rdma_communication $(O)/bench/rdma_tcp_pingpong
	@bash tests/vm/rdma-vm.sh run -f $(O)/rdma_communication -f $(O)/bench/rdma_tcp_pingpong $(VM_SCRIPT)

.DEFAULT_GOAL := $(_rdma_saved_goal)

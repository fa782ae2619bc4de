# mk/dpdk.mk — DPDK 的效能工具需要的函式庫(由頂層 Makefile include)
# bench/dpdk_parse_cost.c 把 dpdk_packet_processing.c 整個 #include 進來,單獨量它的解析
needs_dpdk_parse_cost      := libdpdk
extra_deps_dpdk_parse_cost := dpdk_packet_processing.c

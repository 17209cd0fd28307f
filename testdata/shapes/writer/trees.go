package main

// This file contains the hand-written call tree of the deep and shuffled
// shapes and the leaf of the generated wide tree. Every function here is
// marked noinline, so each call is a frame of its own in the profile.

// branch makes one binary choice per level, by the bits of n from bit down to
// bit 0, through branchLow or branchHigh, so every leaf has its own stack of
// two frames per level. It then recurses pad more frames and allocates.
//
//go:noinline
func branch(n uint32, bit int, pad int) {
	if bit < 0 {
		padThenAllocate(n, pad)
		return
	}
	if n>>uint(bit)&1 == 0 {
		branchLow(n, bit-1, pad)
	} else {
		branchHigh(n, bit-1, pad)
	}
}

//go:noinline
func branchLow(n uint32, bit int, pad int) { branch(n, bit, pad) }

//go:noinline
func branchHigh(n uint32, bit int, pad int) { branch(n, bit, pad) }

//go:noinline
func padThenAllocate(n uint32, pad int) {
	if pad == 0 {
		allocateLeaf(n)
		return
	}
	padThenAllocate(n, pad-1)
}

//go:noinline
func allocateLeaf(n uint32) {
	retained[n] = &leafRecord{Path: uint64(n)}
	lastTransient = &transientRecord{Path: uint64(n)}
}

// wideLeaf allocates at one of two pairs of sites, chosen by bit 0 of n. The
// generated wideB functions pass a different site from every call.
//
//go:noinline
func wideLeaf(n, site uint32) {
	if n&1 == 0 {
		retained[n] = &leafRecord{Path: uint64(n), Site: uint64(site)}
		lastTransient = &transientRecord{Path: uint64(n)}
	} else {
		retained[n] = &leafRecord{Path: uint64(n), Site: uint64(site) + 1}
		lastTransient = &transientRecord{Path: uint64(n) + 1}
	}
}

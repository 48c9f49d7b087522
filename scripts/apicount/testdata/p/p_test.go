package p

// A test file: nothing here counts.
const InTest = 0

func TestNothing() {}

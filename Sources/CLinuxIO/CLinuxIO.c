// The module needs one source file; everything lives in the header.

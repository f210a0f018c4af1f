//! A post-mortem as a PDF, laid out here and set in fonts embedded in the binary.

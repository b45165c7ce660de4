"""The LLM judge: versioned rubrics, the judge stage's contract, reply parsing and calibration."""

"""Student training on TRL: data, pre-flight checks, trainers per method, progress callbacks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PriceIn(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)
    provider: str = Field(min_length=1, max_length=64, examples=["openai", "together", "local"])
    model: str = Field(min_length=1, max_length=300, examples=["deepseek-reasoner", "*"])
    input_per_m: float = Field(0, ge=0, description="Dollars per million input tokens.")
    output_per_m: float = Field(0, ge=0, description="Dollars per million output tokens.")
    gpu_hour: float = Field(0, ge=0, description="Dollars per GPU-hour (local teachers).")
    note: str = Field("", max_length=300)


class PriceOut(PriceIn):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True, from_attributes=True)

    id: int
    updated_at: datetime

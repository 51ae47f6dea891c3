"""Extensions of datamapper: ``datamapper.ext.asyncio`` (AsyncSession and friends)."""

FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY projections ./projections
COPY service ./service
RUN pip install --no-cache-dir .
EXPOSE 8000
ENV CX360_HOST=0.0.0.0
CMD ["cx360", "serve"]

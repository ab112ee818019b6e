# 3.11: the interpreter requirements.lock is compiled for, and the one CI tests with
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY domain ./domain
COPY projections ./projections
COPY service ./service
RUN pip install --no-cache-dir -c requirements.lock .
EXPOSE 8000
ENV CX360_HOST=0.0.0.0
CMD ["cx360", "serve"]
